"""The campaign policy as a web form: what the form shows, from a policy or as a browser posted it.

Every value is kept as a string, so a bad value is shown back as typed.
:mod:`owner_server.console.campaign_policy` turns a form back into a policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.policy import CampaignPolicy, FieldMode, FieldRule, MaskRule
from shared.strategy import ContactStrategy

__all__ = [
    "CHECKS",
    "KINDS",
    "MAX_DISPOSITIONS",
    "RULES",
    "SCALARS",
    "DispositionRow",
    "FieldRow",
    "FormInput",
    "PolicyForm",
    "WindowRow",
    "form_from_policy",
    "form_from_request",
]

#: Scalar settings: dotted path in the policy → English label.
SCALARS: dict[str, str] = {
    "limits.per_hour": "Records per agent per hour",
    "limits.per_day": "Records per agent per day",
    "rules.velocity.max_records": "Most records",
    "rules.velocity.window_minutes": "Within minutes",
    "rules.short_handling.records": "Outcomes looked at",
    "rules.short_handling.min_median_s": "Least median handling time (s)",
    "rules.hours.start": "From",
    "rules.hours.end": "To",
    "rules.blocked_actions.max_per_hour": "Most blocked actions per hour",
    "rules.focus_loss.displays": "Records looked at",
    "rules.focus_loss.max_share": "Largest share with focus lost (0-1)",
    "strategy.max_attempts": "Most attempts per contact",
    "strategy.default_retry_minutes": "Retry after (minutes) when the outcome names none",
    "strategy.callback_grace_minutes": "A callback waits for its agent (minutes)",
    "strategy.max_callback_days": "Furthest callback (days ahead)",
    "calls.caller_id": "Number customers see (E.164, empty: the trunk's)",
    "calls.display_name": "What the agent's phone shows instead of the number",
    "calls.ring_timeout_s": "Ring for (seconds)",
}
#: The anomaly rules in form order: name → (English description, its threshold names).
RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "velocity": ("Velocity: too many records in a short time", ("max_records", "window_minutes")),
    "short_handling": ("Outcomes too fast to be calls", ("records", "min_median_s")),
    "hours": ("Records outside working hours", ("start", "end")),
    "blocked_actions": ("Blocked copy, print or capture attempts", ("max_per_hour",)),
    "focus_loss": ("The record window loses focus too often", ("displays", "max_share")),
    "several_sessions": ("A login while another session is live", ()),
    "new_device": ("A replacement device enrolled", ()),
}
#: Checkboxes: each rule's ``enabled``.
CHECKS = tuple(f"rules.{name}.enabled" for name in RULES)
#: What an outcome does to the contact.
KINDS = ("retry", "final", "callback")
#: Most outcomes a campaign offers (``CampaignPolicy.dispositions``).
MAX_DISPOSITIONS = 12
_BLANK_FIELDS, _BLANK_DISPOSITIONS, _BLANK_WINDOWS = 3, 2, 1
_MAX_ROWS = 200


@dataclass
class FieldRow:
    """One field's rule as typed."""

    name: str = ""
    mode: str = FieldMode.HIDDEN.value
    mask: str = MaskRule.FIRST_LETTER.value
    label: str = ""


@dataclass
class DispositionRow:
    """One outcome as typed: code, label, shortcut, what it does, retry delay (blank: the default)."""

    code: str = ""
    label: str = ""
    shortcut: str = ""
    kind: str = "retry"
    retry: str = ""


@dataclass
class WindowRow:
    """One calling window as typed."""

    days: list[str] = field(default_factory=list)
    start: str = ""
    end: str = ""


@dataclass
class PolicyForm:
    """Everything the policy form shows, as strings.

    Attributes:
        script: The script text.
        timezone: IANA zone.
        fields: Field rows (with blank rows to add fields).
        dispositions: Outcome rows (with blank rows).
        windows: Calling-window rows (with a blank row).
        holidays: Dates, comma separated.
        values: Scalar settings by dotted path (:data:`SCALARS`).
        checks: Rule switches by dotted path (:data:`CHECKS`).
        actions: Each rule's action (``alert``/``suspend``) by rule name.
        hours_days: Days of the working-hours rule.
        other_codes: Strategy codes naming no outcome of the campaign (kept as they are).
    """

    script: str = ""
    timezone: str = "Europe/Warsaw"
    fields: list[FieldRow] = field(default_factory=list)
    dispositions: list[DispositionRow] = field(default_factory=list)
    windows: list[WindowRow] = field(default_factory=list)
    holidays: str = ""
    values: dict[str, str] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    actions: dict[str, str] = field(default_factory=dict)
    hours_days: list[str] = field(default_factory=list)
    other_codes: str = ""


def _get(tree: Mapping[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        node = node[part]
    return node


def _text(value: object) -> str:
    text = "" if value is None else str(value)
    return text[:5] if len(text) == 8 and text[2] == ":" and text.endswith(":00") else text


def _kind(code: str, strategy: ContactStrategy) -> str:
    if code == strategy.callback_code:
        return "callback"
    return "final" if code in strategy.final else "retry"


def _other_codes(policy: CampaignPolicy) -> str:
    codes, strategy = policy.disposition_codes(), policy.strategy
    parts = [f"final {c}" for c in strategy.final if c not in codes]
    parts += [f"retry {c} {m} min" for c, m in strategy.retry_minutes.items() if c not in codes]
    if strategy.callback_code not in codes:
        parts.append(f"callback {strategy.callback_code}")
    return ", ".join(parts)


def _field_row(name: str, raw: FieldRule | FieldMode) -> FieldRow:
    rule = raw if isinstance(raw, FieldRule) else FieldRule(mode=raw)
    return FieldRow(name, rule.mode.value, rule.mask.value, rule.label or "")


def form_from_policy(policy: CampaignPolicy) -> PolicyForm:
    """The form showing ``policy``, with blank rows to add fields, outcomes and a window."""
    tree = policy.model_dump(mode="json")
    strategy = policy.strategy
    dispositions = [
        DispositionRow(d.code, d.label, d.shortcut, _kind(d.code, strategy), _text(strategy.retry_minutes.get(d.code)))
        for d in policy.dispositions
    ]
    blank_dispositions = max(0, min(_BLANK_DISPOSITIONS, MAX_DISPOSITIONS - len(dispositions)))
    windows = [WindowRow(list(w["days"]), _text(w["start"]), _text(w["end"])) for w in tree["strategy"]["windows"]]
    return PolicyForm(
        script=policy.script,
        timezone=policy.timezone,
        fields=[_field_row(name, raw) for name, raw in policy.fields.items()]
        + [FieldRow() for _ in range(_BLANK_FIELDS)],
        dispositions=dispositions + [DispositionRow() for _ in range(blank_dispositions)],
        windows=windows + [WindowRow() for _ in range(_BLANK_WINDOWS)],
        holidays=", ".join(d.isoformat() for d in strategy.holidays),
        values={path: _text(_get(tree, path)) for path in SCALARS},
        checks={path: bool(_get(tree, path)) for path in CHECKS},
        actions={name: str(tree["rules"][name]["action"]) for name in RULES},
        hours_days=list(tree["rules"]["hours"]["days"]),
        other_codes=_other_codes(policy),
    )


class FormInput:
    """What a browser posted: ``one(name)`` for a single value, ``many(name)`` for checkboxes.

    Args:
        pairs: The posted ``(name, value)`` pairs in order (file uploads left out).
    """

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        self._first: dict[str, str] = {}
        for key, value in pairs:
            self._first.setdefault(key, value)

    def one(self, name: str) -> str:
        """The first value of ``name`` (empty when absent)."""
        return self._first.get(name, "")

    def has(self, name: str) -> bool:
        """Whether ``name`` was posted at all."""
        return name in self._first

    def many(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        return [value for key, value in self._pairs if key == name]


def _rows(data: FormInput, key: str, limit: int) -> range:
    """Row numbers 0, 1, ... as long as ``key`` (``"f{}_name"``) was posted for them."""
    count = 0
    while count < limit and data.has(key.format(count)):
        count += 1
    return range(count)


def form_from_request(data: FormInput) -> PolicyForm:
    """The form as posted (kept as typed, to be shown back with an error)."""
    fields = [
        FieldRow(*(data.one(f"f{i}_{part}").strip() for part in ("name", "mode", "mask", "label")))
        for i in _rows(data, "f{}_name", _MAX_ROWS)
    ]
    dispositions = [
        DispositionRow(*(data.one(f"d{i}_{part}").strip() for part in ("code", "label", "shortcut", "kind", "retry")))
        for i in _rows(data, "d{}_code", MAX_DISPOSITIONS + _BLANK_DISPOSITIONS)
    ]
    windows = [
        WindowRow(data.many(f"w{i}_days"), data.one(f"w{i}_start").strip(), data.one(f"w{i}_end").strip())
        for i in _rows(data, "w{}_start", _MAX_ROWS)
    ]
    return PolicyForm(
        script=data.one("script").replace("\r\n", "\n"),
        timezone=data.one("timezone").strip(),
        fields=fields,
        dispositions=dispositions,
        windows=windows,
        holidays=data.one("holidays"),
        values={path: data.one(path).strip() for path in SCALARS},
        checks={path: data.has(path) for path in CHECKS},
        actions={name: data.one(f"rules.{name}.action") for name in RULES},
        hours_days=data.many("rules.hours.days"),
    )
