"""A campaign policy as owners write it: parsed from a TOML/JSON table, written back as TOML.

The CLI (``campaign create --policy FILE``, ``campaign set-policy``) and the
console (the policy form, its TOML download and upload) go through these
same functions, so a policy is validated one way and reads the same in both.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date
from typing import Any

import pydantic
import tomli_w

from shared.errors import ValidationError
from shared.policy import CampaignPolicy, FieldMode, FieldRule, is_phone_field

__all__ = ["parse_policy", "parse_policy_toml", "phone_fields_shown", "policy_problems", "policy_toml"]

_MODES = ", ".join(f'"{m.value}"' for m in FieldMode)


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


def parse_policy(raw: Mapping[str, object]) -> CampaignPolicy:
    """Validate a policy table (TOML or JSON already read).

    Raises:
        ValidationError: One sentence naming every problem (nothing is stored).
    """
    try:
        return CampaignPolicy.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ValidationError("the policy is not valid: " + "; ".join(policy_problems(exc))) from None


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
