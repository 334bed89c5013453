"""Campaign field policy: which fields an agent sees, masked, or never.

The owner writes a policy per campaign; the server applies it to every record
before it leaves. Fields the policy does not name are hidden (safe default),
and phone fields are hidden whatever the policy says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from shared.containment import IssueLimits, RulesPolicy, check_timezone
from shared.fields import EXTRA_PREFIX
from shared.phone_text import contains_phone_number
from shared.protocol import DispositionOption, FieldView, VerifyFieldView
from shared.strategy import CallPolicy, ContactStrategy

__all__ = [
    "PHONE_MASK",
    "CampaignPolicy",
    "FieldMode",
    "FieldRule",
    "MaskRule",
    "apply_policy",
    "verify_fields",
    "contains_phone_number",
    "is_phone_field",
    "mask_value",
]

#: What an agent sees instead of any phone number: no digit at all.
PHONE_MASK = "••• ••• •••"
_MASK = "•"


class FieldMode(StrEnum):
    """How a field is shown to an agent."""

    VISIBLE = "visible"
    MASKED = "masked"
    AFTER_ANSWER = "after_answer"
    """Sent only while the customer's leg of a call is answered; withdrawn when it ends."""
    VERIFY_ONLY = "verify_only"
    """Never sent: the agent types what the customer says and the server answers match or not."""
    HIDDEN = "hidden"


class MaskRule(StrEnum):
    """How a masked field is rendered.

    ``first_letter`` keeps the first character of each word, ``last4`` keeps
    the last four characters, ``full`` keeps nothing but the length class.
    """

    FIRST_LETTER = "first_letter"
    LAST4 = "last4"
    FULL = "full"


_DEFAULT_STRATEGY = ContactStrategy()
_NEVER_SENT = frozenset({FieldMode.HIDDEN, FieldMode.VERIFY_ONLY})
_PHONE_PREFIXES = ("phone", "tel", "mobile")
_PHONE_WORDS = frozenset({"ext", "extension", "gsm", "msisdn", "kom", "komorka", "cell", "fax"})


def is_phone_field(name: str) -> bool:
    """Tell whether a field name holds a phone number (always hidden).

    Also catches the importer's ``extra:<slug>`` names of phone-like columns it
    keeps as extras (a third phone, ``Telefon domowy``, ``Nr tel. służbowy``).
    """
    lowered = name.lower().removeprefix(EXTRA_PREFIX)
    words = [w for w in re.split(r"[^a-z0-9]+", lowered) if w]
    return (
        lowered.startswith(_PHONE_PREFIXES)
        or lowered in _PHONE_WORDS
        or any(w.startswith(_PHONE_PREFIXES) or w in _PHONE_WORDS for w in words)
    )


def mask_value(value: str, rule: MaskRule) -> str:
    """Render a value under a mask rule.

    Args:
        value: The clear value.
        rule: The mask rule.

    Returns:
        The masked text; never longer than 64 characters.
    """
    if rule is MaskRule.FIRST_LETTER:
        words = value.split()
        return " ".join(w[0] + _MASK * min(len(w) - 1, 8) for w in words)[:64]
    if rule is MaskRule.LAST4:
        tail = value[-4:] if len(value) > 4 else ""
        return _MASK * min(max(len(value) - 4, 4), 12) + tail
    return _MASK * 6


class FieldRule(BaseModel):
    """The rule for one field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: FieldMode = FieldMode.HIDDEN
    mask: MaskRule = MaskRule.FIRST_LETTER
    label: str | None = None


Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]


class DispositionSpec(BaseModel):
    """An outcome code offered to agents."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    label: str = Field(min_length=1, max_length=40)
    shortcut: str = Field(default="", max_length=12)


class CampaignPolicy(BaseModel):
    """A campaign's field policy, script, dispositions, limits and anomaly rules (the policy file).

    ``limits`` and ``rules`` default to safe values (60 records an hour, 480 a
    day, every rule on), so a policy that names neither is still contained.
    ``timezone`` (IANA) is where the campaign's days and hours are counted.

    Raises:
        pydantic.ValidationError: A field rule, code or shortcut is malformed,
            or disposition codes repeat.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    fields: dict[str, FieldRule | FieldMode] = Field(default_factory=dict)
    script: str = Field(default="", max_length=4000)
    dispositions: tuple[DispositionSpec, ...] = Field(min_length=1, max_length=12)
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "Europe/Warsaw"
    limits: IssueLimits = IssueLimits()
    rules: RulesPolicy = RulesPolicy()
    strategy: ContactStrategy = ContactStrategy()
    calls: CallPolicy = CallPolicy()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _unique_codes(self) -> CampaignPolicy:
        codes = [d.code for d in self.dispositions]
        if len(set(codes)) != len(codes):
            raise ValueError("disposition codes must be unique")
        self._strategy_codes_known(frozenset(codes))
        return self

    def _strategy_codes_known(self, codes: frozenset[str]) -> None:
        """Refuse a ``[strategy]`` code that names no disposition of the campaign.

        The defaults' own codes (``no_answer``, ``busy``, ``sale``... ``callback``)
        are let through: they are harmless where the campaign lacks them, and a
        stored policy (dumped with every default written out) parses again.
        """
        strategy, default = self.strategy, _DEFAULT_STRATEGY
        written = {
            "strategy.final": set(strategy.final) - set(default.final),
            "strategy.retry_minutes": set(strategy.retry_minutes) - set(default.retry_minutes),
            "strategy.callback_code": {strategy.callback_code} - {default.callback_code},
        }
        for where, named in written.items():
            unknown = sorted(named - codes)
            if unknown:
                raise ValueError(f"{where} names codes that are not dispositions of the campaign: {', '.join(unknown)}")

    def rule_for(self, name: str) -> FieldRule:
        """Return the effective rule of a field; phones and unknowns are hidden."""
        if is_phone_field(name):
            return FieldRule(mode=FieldMode.HIDDEN)
        rule = self.fields.get(name, FieldMode.HIDDEN)
        return rule if isinstance(rule, FieldRule) else FieldRule(mode=rule)

    def disposition_options(self) -> tuple[DispositionOption, ...]:
        """The dispositions as wire options."""
        return tuple(DispositionOption(code=d.code, label=d.label, shortcut=d.shortcut) for d in self.dispositions)

    def disposition_codes(self) -> frozenset[str]:
        """The set of allowed outcome codes."""
        return frozenset(d.code for d in self.dispositions)


def apply_policy(
    policy: CampaignPolicy,
    values: Mapping[str, str],
    order: Iterable[str] | None = None,
    *,
    region: str = "PL",
    answered: bool = False,
) -> tuple[FieldView, ...]:
    """Filter a contact's clear values down to what an agent may see.

    Args:
        policy: The campaign policy.
        values: Field name to clear value (decrypted, never sent as is).
        order: Field order to present; defaults to the policy's order.
        region: Region for recognising national phone numbers inside values.
        answered: Whether the customer's leg of a call is answered now; only
            then are ``after_answer`` fields included (in clear).

    Returns:
        Visible fields in clear and masked fields masked; hidden, ``verify_only``
        and (unless ``answered``) ``after_answer`` fields and phones are absent.
        A visible or masked value that contains a phone number (a number typed
        into a notes or address column, however it is written: see
        :func:`shared.phone_text.contains_phone_number`) is masked whole,
        since a mask rule such as ``first_letter`` or ``last4`` would still
        let digits through.
    """
    names = list(order) if order is not None else list(policy.fields)
    views: list[FieldView] = []
    for name in names:
        value = values.get(name)
        rule = policy.rule_for(name)
        if value is None or value == "" or rule.mode in _NEVER_SENT:
            continue
        if rule.mode is FieldMode.AFTER_ANSWER and not answered:
            continue
        label = rule.label or name.replace("_", " ").capitalize()
        if contains_phone_number(value, region):
            views.append(FieldView(name=name, label=label, value=mask_value(value, MaskRule.FULL), masked=True))
        elif rule.mode in (FieldMode.VISIBLE, FieldMode.AFTER_ANSWER):
            views.append(FieldView(name=name, label=label, value=value))
        else:
            views.append(FieldView(name=name, label=label, value=mask_value(value, rule.mask), masked=True))
    return tuple(views)


def verify_fields(policy: CampaignPolicy, values: Mapping[str, str]) -> tuple[VerifyFieldView, ...]:
    """The ``verify_only`` fields a record has a value for: names and labels, never values.

    Args:
        policy: The campaign policy.
        values: Field name to clear value.

    Returns:
        One view per ``verify_only`` field with a non-empty value, in policy order.
    """
    views: list[VerifyFieldView] = []
    for name in policy.fields:
        rule = policy.rule_for(name)
        if rule.mode is FieldMode.VERIFY_ONLY and values.get(name):
            views.append(VerifyFieldView(name=name, label=rule.label or name.replace("_", " ").capitalize()))
    return tuple(views)
