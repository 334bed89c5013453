"""Live figures for the owner's dashboard: who is working now, records per agent in the last hour.

Design:
    * An agent is **working now** when it holds an open lease that has not
      expired, or an access token that is neither revoked nor expired (tokens
      live :attr:`shared.limits.Limits.token_ttl_s`, 15 minutes, and are
      renewed while the client runs, so a closed client stops counting within
      that time). Two index range scans: ``lease`` through the partial unique
      index of open leases, ``accesstoken`` through ``ix_accesstoken_expires``.
    * **Records in the last hour**: leases issued in the 60 minutes before
      ``now`` per agent, through ``ix_lease_issued`` (issuance time alone; the
      per-agent index cannot serve a range over every agent).
    * One agent's activity (:func:`agent_hourly_issued`): leases issued per UTC
      hour of a period through ``ix_lease_user_issued``.
    * Every function takes ``outsourcer_id`` to scope to one organisation (a
      supervisor's); None means every organisation. No personal data is read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, func, select

from owner_server.audit.reports import Period
from owner_server.models import AccessToken, Lease, Outsourcer, Role, User
from owner_server.models._common import utcnow

__all__ = [
    "HOUR",
    "OutsourcerNow",
    "agent_hourly_issued",
    "issued_last_hour",
    "working_by_outsourcer",
    "working_user_ids",
]

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class OutsourcerNow:
    """One organisation's agents right now.

    Attributes:
        outsourcer: Its name ("" for agents of no organisation).
        agents: Its agents.
        working: Of them, working now (see the module's design notes).
        holding: Of them, holding a record now (an open, unexpired lease).
        suspended: Of them, suspended.
    """

    outsourcer: str
    agents: int
    working: int
    holding: int
    suspended: int


def _scoped(outsourcer_id: int | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [col(User.role) == Role.AGENT]
    if outsourcer_id is not None:
        where.append(col(User.outsourcer_id) == outsourcer_id)
    return where


def _holding_ids(session: Session, *, now: datetime, outsourcer_id: int | None) -> set[int]:
    stmt = (
        select(Lease.user_id)
        .join(User, col(User.id) == col(Lease.user_id))
        .where(col(Lease.closed_at).is_(None), col(Lease.expires_at) > now, *_scoped(outsourcer_id))
    )
    return {int(uid) for uid in session.exec(stmt).all()}


def working_user_ids(
    session: Session, *, now: datetime | None = None, outsourcer_id: int | None = None
) -> tuple[set[int], set[int]]:
    """The agents working now, and of them those holding a record.

    Args:
        session: A read transaction.
        now: The time (UTC); the clock when None.
        outsourcer_id: Only this organisation's agents; all when None.

    Returns:
        ``(working, holding)``: sets of user ids; ``holding`` is a subset of ``working``.
    """
    now = now or utcnow()
    holding = _holding_ids(session, now=now, outsourcer_id=outsourcer_id)
    live = (
        select(AccessToken.user_id)
        .join(User, col(User.id) == col(AccessToken.user_id))
        .where(col(AccessToken.expires_at) > now, col(AccessToken.revoked).is_(False), *_scoped(outsourcer_id))
        .distinct()
    )
    return holding | {int(uid) for uid in session.exec(live).all()}, holding


def working_by_outsourcer(
    session: Session, *, now: datetime | None = None, outsourcer_id: int | None = None
) -> list[OutsourcerNow]:
    """Agents, working, holding and suspended per organisation, by name.

    Args:
        session: A read transaction.
        now: The time (UTC); the clock when None.
        outsourcer_id: Only this organisation; all when None.

    Returns:
        One row per organisation that has agents.
    """
    working, holding = working_user_ids(session, now=now, outsourcer_id=outsourcer_id)
    stmt = (
        select(User.id, User.suspended, Outsourcer.name)
        .outerjoin(Outsourcer, col(Outsourcer.id) == col(User.outsourcer_id))
        .where(*_scoped(outsourcer_id))
    )
    totals: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = {}
    for uid, suspended, name in session.exec(stmt).all():
        org = name or ""
        totals[org] += 1
        row = counts.setdefault(org, Counter())
        row["working"] += uid in working
        row["holding"] += uid in holding
        row["suspended"] += bool(suspended)
    return [
        OutsourcerNow(org, totals[org], counts[org]["working"], counts[org]["holding"], counts[org]["suspended"])
        for org in sorted(totals)
    ]


def issued_last_hour(
    session: Session, *, now: datetime | None = None, outsourcer_id: int | None = None
) -> dict[str, int]:
    """Records issued to each agent in the hour before ``now``, by login (agents with none left out).

    Args:
        session: A read transaction.
        now: The end of the hour (UTC); the clock when None.
        outsourcer_id: Only this organisation's agents; all when None.

    Returns:
        Login → leases issued in ``(now - 1 h, now]``.
    """
    now = now or utcnow()
    stmt = (
        select(User.login, func.count())
        .select_from(Lease)
        .join(User, col(User.id) == col(Lease.user_id))
        .where(col(Lease.issued_at) > now - HOUR, col(Lease.issued_at) <= now, *_scoped(outsourcer_id))
        .group_by(col(User.login))
    )
    return {str(login): int(n) for login, n in session.exec(stmt).all()}


def agent_hourly_issued(session: Session, *, user_id: int, period: Period) -> list[tuple[datetime, int]]:
    """Records issued to one agent in each UTC hour of ``period``, every hour listed (zeros included).

    Args:
        session: A read transaction.
        user_id: The agent.
        period: Whole hours work best (see :func:`owner_server.audit.reports.parse_period`).

    Returns:
        ``(hour start (UTC), leases issued)`` for each hour from the period's first to its last.
    """
    stmt = select(Lease.issued_at).where(
        and_(col(Lease.user_id) == user_id, col(Lease.issued_at) >= period.since, col(Lease.issued_at) < period.until)
    )
    counts: Counter[datetime] = Counter()
    for issued in session.exec(stmt).all():
        counts[issued.astimezone(UTC).replace(minute=0, second=0, microsecond=0)] += 1
    hour = period.since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours: list[tuple[datetime, int]] = []
    while hour < period.until:
        hours.append((hour, counts.get(hour, 0)))
        hour += HOUR
    return hours
