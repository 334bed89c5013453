"""The owner's overview of campaigns (contacts by state, agents, retention) and policy changes.

Counts only: no contact field is decrypted. Canary contacts (synthetic trap
entries) are left out of every count, so the figures are the real list's.
A policy change (:func:`update_policy`) is stored as the campaign's new
``policy_json``: every work request reads the policy text with its token, in
its own write transaction (:func:`owner_server.identity.bearer.confirm` on
SQLite), and parses it once per distinct text
(:func:`owner_server.work.context.load_context`), so the next issuance, and an
open record fetched again, follow it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, func, select

from owner_server.audit import log as audit
from owner_server.identity.admin import get_campaign
from owner_server.lists.visibility import STAGED, staged_counts
from owner_server.models import Campaign, Contact, Outsourcer, Role, User
from shared.errors import ConflictError
from shared.policy import CampaignPolicy, FieldRule

__all__ = ["CampaignView", "changed_sections", "list_campaigns", "update_policy"]

#: Sections whose changes are named one level down (``rules.velocity``, ``strategy.windows``).
_NESTED = ("limits", "rules", "strategy", "calls")


@dataclass(frozen=True, slots=True)
class CampaignView:
    """One campaign as ``campaign list`` shows it.

    Attributes:
        name: The campaign's name.
        contacts: Real (non-canary) contacts by state (``new``, ``leased``, ``done`` ...), those of an
            import not yet published as ``staged``; only states present.
        agents: Agents assigned to it.
        created_at: When it was created.
        erased_at: When its contacts were erased (None: not erased).
        ends_at: When it ended, for retention (None: open-ended).
        retention_days: Days after ``ends_at`` before automatic erasure (None: kept).
        outsourcers: Names of the outsourcers whose agents work it.
    """

    name: str
    contacts: dict[str, int] = field(default_factory=dict)
    agents: int = 0
    created_at: datetime | None = None
    erased_at: datetime | None = None
    ends_at: datetime | None = None
    retention_days: int | None = None
    outsourcers: tuple[str, ...] = ()


def list_campaigns(session: Session) -> list[CampaignView]:
    """Every campaign by name, with its real contacts counted by state."""
    by_state: dict[int, dict[str, int]] = defaultdict(dict)
    for campaign_id, state, count in session.exec(
        select(Contact.campaign_id, Contact.state, func.count())
        .where(col(Contact.is_canary).is_(False))
        .group_by(col(Contact.campaign_id), col(Contact.state))
    ).all():
        by_state[campaign_id][str(state)] = int(count)
    for (campaign_id, state), count in staged_counts(session, list(by_state)).items():  # shown as "staged"
        left = by_state[campaign_id][state] = by_state[campaign_id].get(state, 0) - count
        if left <= 0:
            del by_state[campaign_id][state]
        by_state[campaign_id][STAGED] = by_state[campaign_id].get(STAGED, 0) + count
    agents = dict(
        session.exec(
            select(User.campaign_id, func.count())
            .where(User.role == Role.AGENT, col(User.campaign_id).is_not(None))
            .group_by(col(User.campaign_id))
        ).all()
    )
    outsourcers: dict[int, list[str]] = defaultdict(list)
    for agent_campaign, org in session.exec(
        select(User.campaign_id, Outsourcer.name)
        .join(Outsourcer, col(Outsourcer.id) == col(User.outsourcer_id))
        .where(User.role == Role.AGENT, col(User.campaign_id).is_not(None))
        .distinct()
        .order_by(col(Outsourcer.name))
    ).all():
        if agent_campaign is not None:
            outsourcers[agent_campaign].append(org)
    return [
        CampaignView(
            name=c.name,
            contacts=dict(sorted(by_state.get(c.id or 0, {}).items())),
            agents=int(agents.get(c.id, 0)),
            created_at=c.created_at,
            erased_at=c.erased_at,
            ends_at=c.ends_at,
            retention_days=c.retention_days,
            outsourcers=tuple(outsourcers.get(c.id or 0, ())),
        )
        for c in session.exec(select(Campaign).order_by(col(Campaign.name))).all()
    ]


def _rule(value: FieldRule | str) -> FieldRule:
    return value if isinstance(value, FieldRule) else FieldRule.model_validate({"mode": value})


def changed_sections(old: CampaignPolicy, new: CampaignPolicy) -> tuple[list[str], list[str]]:
    """What differs between two policies: section names and field names, never a value.

    Returns:
        ``(sections, fields)``: sections such as ``fields``, ``script``,
        ``dispositions``, ``limits.per_hour``, ``rules.velocity``,
        ``strategy.windows``, ``calls.caller_id``; and the fields added,
        removed, reordered or given another mode, mask or label.
    """
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    sections: list[str] = []
    for key in CampaignPolicy.model_fields:
        if key in _NESTED:
            sections += [f"{key}.{sub}" for sub in after[key] if before[key].get(sub) != after[key][sub]]
        elif key == "fields":
            if list(old.fields) != list(new.fields) or before[key] != after[key]:
                sections.append(key)
        elif before[key] != after[key]:
            sections.append(key)
    names = list(dict.fromkeys([*old.fields, *new.fields]))
    fields = [
        n for n in names if n not in old.fields or n not in new.fields or _rule(old.fields[n]) != _rule(new.fields[n])
    ]
    if not fields and list(old.fields) != list(new.fields):
        fields = ["(order)"]
    return sections, fields


def update_policy(session: Session, *, name: str, policy: CampaignPolicy, actor: str) -> list[str]:
    """Replace a campaign's policy (already validated: a :class:`CampaignPolicy`), audited.

    The change applies from the next request of each agent: the next issuance,
    and the open record when it is fetched again (a newly hidden field leaves
    the screen then). An outcome code the new policy no longer offers is
    refused with a clear error; the agent picks one it offers.

    Args:
        session: Open transaction.
        name: The campaign's name.
        policy: The new policy.
        actor: Who acts (``admin:anna``).

    Returns:
        The sections that changed (empty: the policy was the same; nothing written).

    Raises:
        NotFoundError: No such campaign.
        ConflictError: The campaign is erased.
    """
    campaign = get_campaign(session, name=name)
    if campaign.erased_at is not None:
        raise ConflictError(f"campaign '{name}' is erased")
    old = CampaignPolicy.model_validate_json(campaign.policy_json)
    sections, fields = changed_sections(old, policy)
    if not sections:
        return []
    campaign.policy_json = policy.model_dump_json()
    session.add(campaign)
    audit.append(
        session,
        actor=actor,
        action="campaign_policy_changed",
        object_type="campaign",
        object_id=str(campaign.id),
        details={"sections": ",".join(sections), "fields": ",".join(fields)},
    )
    return sections
