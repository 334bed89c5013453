"""Retention: a campaign's contacts are erased automatically N days after it ends.

An owner admin records when a campaign ends (``ends_at``) and how many days its
contacts are kept afterwards (``retention_days``). :func:`run_retention`, run by
``custos-server retention run`` or from the server's loop, erases every live
campaign whose time has come exactly as ``campaign erase`` does (its data keys
destroyed, contacts erased, one ``campaign_erased`` audit entry with reason
``retention``; see :mod:`owner_server.lists.erasure` for the limits). An
erased campaign is never picked again, so runs are idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from owner_server.audit import log as audit
from owner_server.core.db import session_scope
from owner_server.identity.admin import get_campaign
from owner_server.lists.erasure import CampaignErasure, ErasureReason, erase_campaign_in, scrub_storage
from owner_server.models import Campaign
from owner_server.vault.keys import KeyService
from shared.errors import ConflictError, ValidationError

__all__ = ["MAX_RETENTION_DAYS", "CampaignRetention", "retention_overview", "run_retention", "set_retention"]

MAX_RETENTION_DAYS = 36_500


def set_retention(session: Session, *, name: str, ends_at: datetime, days: int, actor: str) -> Campaign:
    """Record when a campaign ends and how many days later its contacts are erased.

    Raises:
        ValidationError: ``days`` out of range or ``ends_at`` without a time zone.
        NotFoundError: Unknown campaign.
        ConflictError: The campaign was erased already.
    """
    if not 0 <= days <= MAX_RETENTION_DAYS:
        raise ValidationError(f"retention days must be between 0 and {MAX_RETENTION_DAYS}")
    if ends_at.tzinfo is None:
        raise ValidationError("the campaign end needs a time zone")
    campaign = get_campaign(session, name=name)
    if campaign.erased_at is not None:
        raise ConflictError(f"campaign '{name}' was erased already")
    campaign.ends_at, campaign.retention_days = ends_at, days
    session.add(campaign)
    audit.append(
        session,
        actor=actor,
        action="campaign_retention_set",
        object_type="campaign",
        object_id=str(campaign.id),
        details={"ends_at": ends_at.isoformat(), "retention_days": days},
    )
    return campaign


@dataclass(frozen=True, slots=True)
class CampaignRetention:
    """One campaign's retention, as the console's lists page shows it.

    Attributes:
        name: The campaign's name.
        ends_at: When it ends (UTC), or None when not set.
        retention_days: Days kept after the end, or None (kept until erased by hand).
        erase_after: ``ends_at`` plus the days, or None when either is unset.
        erased_at: When it was erased, or None while it lives.
    """

    name: str
    ends_at: datetime | None
    retention_days: int | None
    erase_after: datetime | None
    erased_at: datetime | None


def retention_overview(session: Session) -> list[CampaignRetention]:
    """Every campaign with its retention, by name (campaigns are few: no paging)."""
    rows = session.exec(select(Campaign).order_by(col(Campaign.name))).all()
    return [
        CampaignRetention(
            name=c.name,
            ends_at=c.ends_at,
            retention_days=c.retention_days,
            erase_after=(
                c.ends_at + timedelta(days=c.retention_days)
                if c.ends_at is not None and c.retention_days is not None
                else None
            ),
            erased_at=c.erased_at,
        )
        for c in rows
    ]


def _is_due(campaign: Campaign, now: datetime) -> bool:
    if campaign.ends_at is None or campaign.retention_days is None:
        return False
    return campaign.ends_at + timedelta(days=campaign.retention_days) <= now


def run_retention(
    engine: Engine, keys: KeyService, now: datetime, *, actor: str = "system:retention"
) -> Sequence[CampaignErasure]:
    """Erase every live campaign whose end plus retention days is at or before ``now``.

    Each campaign is erased in its own transaction; a second run finds nothing.

    Args:
        engine: Database engine.
        keys: Key service; its cached keys are dropped when anything was erased.
        now: The current time (timezone-aware).
        actor: Who erases, for the audit log.

    Returns:
        One result per campaign erased now.

    Raises:
        ValidationError: ``now`` has no time zone.
    """
    if now.tzinfo is None:
        raise ValidationError("retention needs a timezone-aware time")
    with session_scope(engine) as session:
        live = session.exec(select(Campaign).where(col(Campaign.erased_at).is_(None))).all()
        due = [c.id for c in live if c.id is not None and _is_due(c, now)]
    results: list[CampaignErasure] = []
    for campaign_id in due:
        with session_scope(engine) as session:
            campaign = session.get(Campaign, campaign_id, with_for_update=True)
            assert campaign is not None  # campaigns are never deleted
            result = erase_campaign_in(session, campaign, reason=ErasureReason.RETENTION, actor=actor)
        if not result.already_erased:
            results.append(result)
    if results:
        keys.forget_cached()
        scrubbed = scrub_storage(engine)
        results = [replace(r, storage_scrubbed=scrubbed) for r in results]
    return results
