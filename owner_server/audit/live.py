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
    "LiveFigures",
    "OutsourcerNow",
    "agent_hourly_issued",
    "issued_last_hour",
    "live_figures",
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
    # no DISTINCT: it would make the planner walk the whole user_id index instead of the expires_at range
    live = (
        select(AccessToken.user_id)
        .join(User, col(User.id) == col(AccessToken.user_id))
        .where(col(AccessToken.expires_at) > now, col(AccessToken.revoked).is_(False), *_scoped(outsourcer_id))
    )
    return holding | {int(uid) for uid in session.exec(live).all()}, holding


@dataclass(frozen=True, slots=True)
class LiveFigures:
    """What the dashboard shows, computed together (each table read once).

    Attributes:
        organisations: Agents now, per organisation (by name).
        issued: Records issued in the last hour, by login (agents with none left out).
        idle: Agents working now with no record issued in the last hour.
    """

    organisations: list[OutsourcerNow]
    issued: dict[str, int]
    idle: int


def _issued_by_user(session: Session, *, now: datetime) -> dict[int, int]:
    stmt = (
        select(Lease.user_id, func.count())
        .where(col(Lease.issued_at) > now - HOUR, col(Lease.issued_at) <= now)
        .group_by(col(Lease.user_id))
    )
    return {int(uid): int(n) for uid, n in session.exec(stmt).all()}


def live_figures(session: Session, *, now: datetime | None = None, outsourcer_id: int | None = None) -> LiveFigures:
    """Agents working, holding and suspended per organisation, and each agent's records in the last hour.

    Args:
        session: A read transaction.
        now: The time (UTC); the clock when None.
        outsourcer_id: Only this organisation's agents; all when None.

    Returns:
        The figures; organisations without agents are left out.
    """
    now = now or utcnow()
    working, holding = working_user_ids(session, now=now, outsourcer_id=outsourcer_id)
    by_user = _issued_by_user(session, now=now)
    stmt = (
        select(User.id, User.login, User.suspended, Outsourcer.name)
        .outerjoin(Outsourcer, col(Outsourcer.id) == col(User.outsourcer_id))
        .where(*_scoped(outsourcer_id))
    )
    counts: dict[str, Counter[str]] = {}
    issued: dict[str, int] = {}
    for uid, login, suspended, name in session.exec(stmt).all():
        row = counts.setdefault(name or "", Counter())
        row["agents"] += 1
        row["working"] += uid in working
        row["holding"] += uid in holding
        row["suspended"] += bool(suspended)
        if n := by_user.get(uid or 0, 0):
            issued[str(login)] = n
    organisations = [
        OutsourcerNow(org, c["agents"], c["working"], c["holding"], c["suspended"]) for org, c in sorted(counts.items())
    ]
    return LiveFigures(organisations, issued, sum(1 for uid in working if not by_user.get(uid)))


def working_by_outsourcer(
    session: Session, *, now: datetime | None = None, outsourcer_id: int | None = None
) -> list[OutsourcerNow]:
    """Agents, working, holding and suspended per organisation, by name (see :func:`live_figures`)."""
    return live_figures(session, now=now, outsourcer_id=outsourcer_id).organisations


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
    return live_figures(session, now=now, outsourcer_id=outsourcer_id).issued


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
