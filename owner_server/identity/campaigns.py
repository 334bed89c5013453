"""The owner's overview of campaigns: contacts by state, agents, retention.

Counts only: no contact field is decrypted. Canary contacts (synthetic trap
entries) are left out of every count, so the figures are the real list's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, func, select

from owner_server.models import Campaign, Contact, Role, User

__all__ = ["CampaignView", "list_campaigns"]


@dataclass(frozen=True, slots=True)
class CampaignView:
    """One campaign as ``campaign list`` shows it.

    Attributes:
        name: The campaign's name.
        contacts: Real (non-canary) contacts by state (``new``, ``leased``, ``done`` ...); only states present.
        agents: Agents assigned to it.
        created_at: When it was created.
        erased_at: When its contacts were erased (None: not erased).
        ends_at: When it ended, for retention (None: open-ended).
        retention_days: Days after ``ends_at`` before automatic erasure (None: kept).
    """

    name: str
    contacts: dict[str, int] = field(default_factory=dict)
    agents: int = 0
    created_at: datetime | None = None
    erased_at: datetime | None = None
    ends_at: datetime | None = None
    retention_days: int | None = None


def list_campaigns(session: Session) -> list[CampaignView]:
    """Every campaign by name, with its real contacts counted by state."""
    by_state: dict[int, dict[str, int]] = defaultdict(dict)
    for campaign_id, state, count in session.exec(
        select(Contact.campaign_id, Contact.state, func.count())
        .where(col(Contact.is_canary).is_(False))
        .group_by(col(Contact.campaign_id), col(Contact.state))
    ).all():
        by_state[campaign_id][str(state)] = int(count)
    agents = dict(
        session.exec(
            select(User.campaign_id, func.count())
            .where(User.role == Role.AGENT, col(User.campaign_id).is_not(None))
            .group_by(col(User.campaign_id))
        ).all()
    )
    return [
        CampaignView(
            name=c.name,
            contacts=dict(sorted(by_state.get(c.id or 0, {}).items())),
            agents=int(agents.get(c.id, 0)),
            created_at=c.created_at,
            erased_at=c.erased_at,
            ends_at=c.ends_at,
            retention_days=c.retention_days,
        )
        for c in session.exec(select(Campaign).order_by(col(Campaign.name))).all()
    ]
