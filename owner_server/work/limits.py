"""Issuance limits: records per agent per rolling hour and per calendar day.

Counted from issuances (leases), not outcomes, with one indexed query on
``lease (user_id, issued_at)`` (built once: ``claim_sql.COUNT_ISSUED``) inside the transaction that is about to issue,
so no client, retry or second server process can get past them. The lowest of
the campaign policy's ``[limits]`` and the outsourcer's own limits applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from owner_server.models import Lease
from owner_server.work import claim_sql
from shared.errors import QuotaReachedError
from shared.protocol import QuotaView

__all__ = ["HOUR", "EffectiveLimits", "IssueCounts", "check_quota", "count_issued", "quota_view"]

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class EffectiveLimits:
    """The limits in force for one agent (records)."""

    per_hour: int
    per_day: int


@dataclass(frozen=True, slots=True)
class IssueCounts:
    """Records issued to one agent in the windows that limits and rules look at.

    Attributes:
        hour: In the rolling last 60 minutes.
        day: Since local midnight of the campaign's time zone.
        window: In the rolling last ``window`` (the velocity rule's).
        day_start: That midnight, in UTC.
    """

    hour: int
    day: int
    window: int
    day_start: datetime


def _day_start(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(now.tzinfo)


def count_issued(session: Session, *, user_id: int, now: datetime, zone: ZoneInfo, window: timedelta) -> IssueCounts:
    """Count an agent's issuances per hour, per day and per rule window in one indexed query.

    Args:
        session: The issuing transaction.
        user_id: The agent.
        now: The request's time (UTC).
        zone: The campaign's time zone (where its day starts).
        window: The velocity rule's window.

    Returns:
        The three counts and the UTC start of the local day.
    """
    day_start = _day_start(now, zone)
    hour_start, window_start = now - HOUR, now - window
    params = {"b_user_id": user_id, "b_hour_start": hour_start, "b_day_start": day_start}
    params |= {"b_window_start": window_start, "b_since": min(day_start, hour_start, window_start)}
    row = claim_sql.run(session, claim_sql.COUNT_ISSUED, params).one()
    return IssueCounts(hour=int(row[1]), day=int(row[2]), window=int(row[3]), day_start=day_start)


def _hour_frees_at(session: Session, *, user_id: int, now: datetime, over: int) -> datetime:
    """When enough of the last hour's issuances age out to allow one more."""
    oldest_needed = session.exec(
        select(Lease.issued_at)
        .where(col(Lease.user_id) == user_id, col(Lease.issued_at) > now - HOUR)
        .order_by(col(Lease.issued_at))
        .offset(over)
        .limit(1)
    ).first()
    return (oldest_needed or now) + HOUR


def quota_view(counts: IssueCounts, limits: EffectiveLimits, *, issued_now: int = 0) -> QuotaView:
    """The agent's figures as sent on the wire (``issued_now``: a record issued by this request)."""
    return QuotaView(
        issued_hour=counts.hour + issued_now,
        per_hour=limits.per_hour,
        issued_day=counts.day + issued_now,
        per_day=limits.per_day,
    )


def check_quota(
    session: Session, *, user_id: int, counts: IssueCounts, limits: EffectiveLimits, zone: ZoneInfo, now: datetime
) -> None:
    """Refuse to issue when the agent has reached a limit.

    Raises:
        QuotaReachedError: At the hourly or daily limit; ``retry_at`` is when
            the next record may come (an hour after the issuance that frees a
            slot, or the next local midnight).
    """
    figures = {"issued_hour": counts.hour, "per_hour": limits.per_hour}
    figures |= {"issued_day": counts.day, "per_day": limits.per_day}
    if counts.day >= limits.per_day:
        tomorrow = (counts.day_start.astimezone(zone) + timedelta(days=1, hours=3)).date()
        retry_at = datetime.combine(tomorrow, time(0), tzinfo=zone).astimezone(now.tzinfo)
        raise QuotaReachedError(
            f"limit of {limits.per_day} records a day reached", retry_at=retry_at, period="day", **figures
        )
    if counts.hour >= limits.per_hour:
        retry_at = _hour_frees_at(session, user_id=user_id, now=now, over=counts.hour - limits.per_hour)
        raise QuotaReachedError(
            f"limit of {limits.per_hour} records an hour reached", retry_at=retry_at, period="hour", **figures
        )
