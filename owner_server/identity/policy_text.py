"""A campaign policy as owners write it: parsed from a TOML/JSON table, written back as TOML.

The CLI (``campaign create --policy FILE``, ``campaign set-policy``) and the
console (the policy form, its TOML download and upload) go through these
same functions, so a policy is validated one way and reads the same in both.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import date
from typing import Any

import pydantic
import tomli_w

from shared.errors import ValidationError
from shared.fields import CONTACT_FIELDS, EXTRA_PREFIX
from shared.policy import CampaignPolicy, FieldMode, FieldRule, is_phone_field

__all__ = [
    "ALLOWED_SHORTCUTS",
    "input_problems",
    "parse_policy",
    "parse_policy_toml",
    "phone_fields_shown",
    "policy_problems",
    "policy_toml",
]

_MODES = ", ".join(f'"{m.value}"' for m in FieldMode)
_EXTRA_NAME = re.compile(re.escape(EXTRA_PREFIX) + r"[a-z0-9][a-z0-9_]{0,63}")
#: The client's own keys (agent_client/views/call_panel.py): call and hang up.
_CLIENT_KEYS = frozenset({"F9", "F10"})
_F_KEY = r"f(?:[1-9]|1[0-2])"
_SHORTCUT = re.compile(rf"(?P<key>[0-9a-z]|{_F_KEY})|alt\+(?P<alt>[0-9a-z])|shift\+(?P<shift>{_F_KEY})", re.IGNORECASE)
#: What a disposition shortcut may be, for the error message.
ALLOWED_SHORTCUTS = (
    "a letter or digit (A, 7) alone or with Alt+, or F1-F12 but F9/F10 (the client's call keys) alone or with Shift+; "
    "never Ctrl+ or a system key (Ctrl+C, Alt+F4, Alt+Tab, Esc, Enter, Tab, Print Screen)"
)


def _message(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def policy_problems(exc: pydantic.ValidationError) -> list[str]:
    """One plain line per problem of a policy, without pydantic's union branch names.

    Args:
        exc: What :meth:`CampaignPolicy.model_validate` raised.

    Returns:
        Lines ``where: what`` (``where`` a dotted path such as ``strategy.windows.0.end``).
    """
    lines: dict[str, str] = {}
    for err in exc.errors():
        parts = [str(p) for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p[:1].isupper()))]
        where = ".".join(parts) or "policy"
        if len(parts) == 2 and parts[0] == "fields":
            lines[where] = f"{where}: use {_MODES}, or a table with mode, mask and label"
        else:
            lines.setdefault(where, f"{where}: {_message(err)}")
    return list(lines.values())


def input_problems(policy: CampaignPolicy) -> list[str]:
    """What an owner-written policy gets wrong beyond its schema.

    A field name that is no contact field (``imie = "visible"``) would silently
    show nothing; a disposition shortcut that is a system or editing key
    (``Ctrl+C``) would fight the client's copy guard or the desktop. Stored
    policies are not re-checked, so an older one still loads.

    Returns:
        Lines ``where: what``; empty when the policy is fine.
    """
    problems = []
    unknown = [name for name in policy.fields if name not in CONTACT_FIELDS and not _EXTRA_NAME.fullmatch(name)]
    if unknown:
        known = ", ".join(CONTACT_FIELDS)
        problems.append(
            f"fields: unknown field name(s) {', '.join(unknown)}; use one of {known}, or extra:<name> for a column "
            "kept under its header's name"
        )
    for index, option in enumerate(policy.dispositions):
        if option.shortcut and not _shortcut_allowed(option.shortcut):
            where = f"dispositions.{index}.shortcut"
            problems.append(f"{where}: {option.shortcut!r} is not allowed; use {ALLOWED_SHORTCUTS}")
    return problems


def _shortcut_allowed(text: str) -> bool:
    match = _SHORTCUT.fullmatch(text.strip())
    if match is None:
        return False
    key = match.group("key") or match.group("alt") or match.group("shift")
    return key.upper() not in _CLIENT_KEYS


def parse_policy(raw: Mapping[str, object]) -> CampaignPolicy:
    """Validate a policy table written by an owner (TOML or JSON already read).

    Raises:
        ValidationError: One sentence naming every problem (nothing is stored),
            the schema's and :func:`input_problems`'.
    """
    try:
        policy = CampaignPolicy.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ValidationError("the policy is not valid: " + "; ".join(policy_problems(exc))) from None
    problems = input_problems(policy)
    if problems:
        raise ValidationError("the policy is not valid: " + "; ".join(problems))
    return policy


def parse_policy_toml(text: str) -> CampaignPolicy:
    """Parse and validate a policy written in TOML.

    Raises:
        ValidationError: Not TOML, or not a valid policy (one sentence).
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"the policy is not valid TOML: {exc}") from None
    return parse_policy(raw)


def phone_fields_shown(policy: CampaignPolicy) -> list[str]:
    """Phone fields the policy would show: they stay hidden whatever it says (worth a warning)."""
    shown = []
    for name, rule in policy.fields.items():
        mode = rule.mode if isinstance(rule, FieldRule) else rule
        if is_phone_field(name) and mode is not FieldMode.HIDDEN:
            shown.append(name)
    return shown


def _short_time(value: object) -> object:
    return value[:5] if isinstance(value, str) and len(value) == 8 and value.endswith(":00") else value


def policy_toml(policy: CampaignPolicy) -> str:
    """The policy as a TOML file ``campaign create --policy`` reads back to the same policy.

    Every value is written out (defaults included); times as ``"HH:MM"``,
    holidays as TOML dates.
    """
    raw: dict[str, Any] = policy.model_dump(mode="json", exclude_none=True)
    strategy = raw["strategy"]
    strategy["holidays"] = [date.fromisoformat(d) for d in strategy["holidays"]]
    for window in strategy["windows"]:
        window["start"], window["end"] = _short_time(window["start"]), _short_time(window["end"])
    hours = raw["rules"]["hours"]
    hours["start"], hours["end"] = _short_time(hours["start"]), _short_time(hours["end"])
    fields = raw.pop("fields")
    tables = {key: raw.pop(key) for key in ("limits", "rules", "strategy", "calls")}
    return "\n".join((tomli_w.dumps(raw, multiline_strings=True), _fields_section(fields), tomli_w.dumps(tables)))


def _literal(value: object) -> str:
    """One TOML value on one line (tomli_w's own formatting)."""
    return tomli_w.dumps({"v": value}).strip().removeprefix("v = ")


def _key(name: str) -> str:
    return tomli_w.dumps({name: 0}).strip().removesuffix(" = 0")


def _fields_section(fields: Mapping[str, object]) -> str:
    """``[fields]`` with one line per field, in the policy's order (the order agents see them in)."""
    lines = ["[fields]"]
    for name, rule in fields.items():
        if isinstance(rule, Mapping):
            value = "{ " + ", ".join(f"{k} = {_literal(v)}" for k, v in rule.items()) + " }"
        else:
            value = _literal(rule)
        lines.append(f"{_key(name)} = {value}")
    return "\n".join(lines) + "\n"
