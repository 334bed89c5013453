"""A posted policy form back into a :class:`~shared.policy.CampaignPolicy`, through the TOML path's validation.

The form starts from the stored policy (or the starter of a new campaign) and
overlays what it shows, so nothing the form cannot express is lost; a field
whose rule did not change keeps the way it was written (``"hidden"`` or a
table), and strategy codes that name no outcome of the campaign are kept, so
an unchanged form saves an identical policy. The result is validated by
:func:`owner_server.identity.policy_text.parse_policy`, as a policy file is.
"""

from __future__ import annotations

from typing import Any

from owner_server.console.campaign_form import PolicyForm
from owner_server.identity.policy_text import parse_policy
from shared.errors import ValidationError
from shared.policy import CampaignPolicy, FieldMode, FieldRule, MaskRule
from shared.strategy import ContactStrategy

__all__ = ["policy_from_form"]


def _set(tree: dict[str, Any], path: str, value: object) -> None:
    *head, last = path.split(".")
    node = tree
    for part in head:
        node = node[part]
    node[last] = value


def _as_rule(rule: FieldRule | FieldMode) -> FieldRule:
    return rule if isinstance(rule, FieldRule) else FieldRule(mode=rule)


def _field_rules(form: PolicyForm, base: CampaignPolicy) -> dict[str, object]:
    fields: dict[str, object] = {}
    for row in form.fields:
        if not row.name:
            continue
        if row.name in fields:
            raise ValidationError(f"the field {row.name} is listed twice")
        typed = {"mode": row.mode, "mask": row.mask, "label": row.label or None}
        kept = base.fields.get(row.name)
        if kept is not None:
            try:
                same = FieldRule.model_validate(typed) == _as_rule(kept)
            except ValueError:  # pydantic's ValidationError: parse_policy names the problem below
                same = False
            if same:
                fields[row.name] = kept.model_dump(mode="json") if isinstance(kept, FieldRule) else kept.value
                continue
        plain = row.mask == MaskRule.FIRST_LETTER.value and typed["label"] is None
        fields[row.name] = row.mode if plain else {k: v for k, v in typed.items() if v is not None}
    return fields


def _outcomes(form: PolicyForm, base: CampaignPolicy, strategy: dict[str, Any]) -> list[dict[str, str]]:
    """The dispositions, and the strategy's final, retry and callback codes they imply (others kept)."""
    rows = [r for r in form.dispositions if r.code or r.label or r.shortcut]
    codes = [r.code for r in rows]
    if len(set(codes)) != len(codes):
        raise ValidationError("each outcome needs its own code")
    was = base.disposition_codes()

    def foreign(code: str) -> bool:  # named by the strategy only: the form cannot show it, so it is kept
        return code not in was and code not in codes

    final = [r.code for r in rows if r.kind == "final"]
    strategy["final"] = [c for c in base.strategy.final if foreign(c) or c in final]
    strategy["final"] += [c for c in final if c not in strategy["final"]]
    retry: dict[str, object] = {c: m for c, m in base.strategy.retry_minutes.items() if foreign(c)}
    retry.update({r.code: r.retry for r in rows if r.retry})
    strategy["retry_minutes"] = retry
    callbacks = [r.code for r in rows if r.kind == "callback"]
    if len(callbacks) > 1:
        raise ValidationError("only one outcome can schedule a callback")
    if callbacks:
        strategy["callback_code"] = callbacks[0]
    elif not foreign(base.strategy.callback_code):
        default = ContactStrategy().callback_code
        if default in codes:
            raise ValidationError(f"the outcome {default} always schedules a callback: mark it so, or rename it")
        strategy["callback_code"] = default
    return [{"code": r.code, "label": r.label, "shortcut": r.shortcut} for r in rows]


def policy_from_form(form: PolicyForm, *, base: CampaignPolicy) -> CampaignPolicy:
    """The policy a posted form describes, over ``base`` (the stored policy, or the starter for a new one).

    Raises:
        ValidationError: One sentence: what is wrong, where (nothing is stored).
    """
    tree: dict[str, Any] = base.model_dump(mode="json")
    tree["script"], tree["timezone"] = form.script, form.timezone
    tree["fields"] = _field_rules(form, base)
    for path, value in form.values.items():
        _set(tree, path, value)
    for path, on in form.checks.items():
        _set(tree, path, on)
    for name, action in form.actions.items():
        tree["rules"][name]["action"] = action
    tree["rules"]["hours"]["days"] = form.hours_days
    strategy = tree["strategy"]
    strategy["windows"] = [
        {"days": w.days, "start": w.start, "end": w.end} for w in form.windows if w.days or w.start or w.end
    ]
    strategy["holidays"] = form.holidays.replace(",", " ").split()
    tree["dispositions"] = _outcomes(form, base, strategy)
    return parse_policy(tree)
