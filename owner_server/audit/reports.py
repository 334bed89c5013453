"""Per-agent reports: what each agent took, saw and did in a period, whole or per hour.

Design:
    * Figures come from a few aggregate queries over the work tables, each
      restricted to the period through an index: ``lease (user_id, issued_at)``
      for issuances, outcomes and handling time; ``display_event (user_id,
      kind, occurred_at)`` for displays and blocked actions; ``alert (user_id,
      rule, created_at)`` for alerts. The audit log is never scanned.
    * ``issued``: leases issued in the period. ``outcomes`` and
      ``median_handling_s`` (issuance → disposition, seconds): of those leases
      (a record issued at 23:58 and closed at 00:03 counts on the day it was
      issued). ``displayed``: ``record_displayed`` events that happened in the
      period (client time), ``blocked``: ``action_blocked`` events. ``alerts``:
      alerts raised about the agent in the period. ``suspended``: the agent's
      state now.
    * Per hour (:func:`hourly_report`): the same, grouped by the UTC hour the
      lease was issued / the event happened / the alert was raised; hours with
      nothing are left out. (UTC hours, so zones with half-hour offsets chart
      correctly too; label them in local time when showing them.)
    * Canary issuances count for the agent who took them (they are records the
      agent received); contact counts (:func:`campaign_progress`) leave canary
      contacts out.
    * Periods (:func:`parse_period`): ISO dates or date-times; a date-time
      without an offset, and every date, is in the given time zone (the CLI
      passes the server machine's local zone unless told otherwise). A ``since``
      date starts at its midnight, an ``until`` date ends at the next midnight
      (inclusive dates). Default: today.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Dialect
from sqlmodel import Session, col, func, select

from owner_server.lists.visibility import staged_counts
from owner_server.models import (
    Alert,
    Campaign,
    Contact,
    ContactState,
    DisplayEventRow,
    Disposition,
    Lease,
    Outsourcer,
    Role,
    User,
)
from owner_server.models._common import utcnow
from shared.errors import NotFoundError, ValidationError
from shared.protocol import DisplayEventKind

__all__ = [
    "AgentFigures",
    "CampaignProgress",
    "Period",
    "agent_report",
    "campaign_progress",
    "hourly_report",
    "parse_period",
]

_Key = tuple[int, datetime | None]


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open interval ``[since, until)`` of aware datetimes."""

    since: datetime
    until: datetime


def _parse_moment(text: str, tz: tzinfo, *, end: bool, name: str) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime.combine(day + timedelta(days=1) if end else day, time(), tz)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{name} takes an ISO date (2026-01-31) or date-time (2026-01-31T14:00), got '{text}'"
        ) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def parse_period(*, since: str | None, until: str | None, tz: tzinfo, now: datetime | None = None) -> Period:
    """The period a report covers.

    Args:
        since: Start: an ISO date (its midnight) or date-time; None: today's midnight.
        until: End: an ISO date (the next midnight, so the date is included) or
            date-time; None: the end of today.
        tz: Time zone of dates and of date-times without an offset.
        now: The current time (the clock when None).

    Returns:
        The period (aware datetimes).

    Raises:
        ValidationError: Unreadable text, or a start not before the end.
    """
    today = (now or utcnow()).astimezone(tz).date()
    start = _parse_moment(since, tz, end=False, name="--since") if since else datetime.combine(today, time(), tz)
    tomorrow = datetime.combine(today + timedelta(days=1), time(), tz)
    stop = _parse_moment(until, tz, end=True, name="--until") if until else tomorrow
    if start >= stop:
        raise ValidationError("--since must be before --until")
    return Period(start.astimezone(UTC), stop.astimezone(UTC))


@dataclass(frozen=True, slots=True)
class AgentFigures:
    """One agent's figures over a period (or one hour of it).

    Attributes:
        login: The agent's login.
        outsourcer: The agent's organisation ("" when none).
        hour: Start of the UTC hour (hourly report), None for the whole period.
        issued: Records issued (leases).
        displayed: ``record_displayed`` events.
        outcomes: Outcomes of the records issued, by disposition code.
        median_handling_s: Median seconds from issuance to outcome, None without outcomes.
        blocked: Blocked copy/print/capture attempts.
        alerts: Alerts raised about the agent.
        suspended: Whether the agent is suspended now.
    """

    login: str
    outsourcer: str
    hour: datetime | None
    issued: int = 0
    displayed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    median_handling_s: float | None = None
    blocked: int = 0
    alerts: int = 0
    suspended: bool = False

    def as_json(self) -> dict[str, Any]:
        """A JSON object of the figures (``hour`` only in an hourly report)."""
        data: dict[str, Any] = {"hour": self.hour.isoformat()} if self.hour is not None else {}
        data.update(
            login=self.login,
            outsourcer=self.outsourcer,
            issued=self.issued,
            displayed=self.displayed,
            outcomes=dict(sorted(self.outcomes.items())),
            median_handling_s=self.median_handling_s,
            blocked=self.blocked,
            alerts=self.alerts,
            suspended=self.suspended,
        )
        return data


def _hour(column: Any, dialect: Dialect) -> ColumnElement[str]:
    """The UTC hour of a timestamp column as ``YYYY-MM-DD HH`` text, in SQL."""
    if dialect.name == "sqlite":  # stored as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'
        return func.substr(column, 1, 13)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")


def _hour_value(text: str | None) -> datetime | None:
    return None if text is None else datetime.strptime(text, "%Y-%m-%d %H").replace(tzinfo=UTC)


class _Query:
    """Builds the grouped statements of one report."""

    def __init__(self, session: Session, *, period: Period, outsourcer_id: int | None, hourly: bool) -> None:
        self.session, self.period, self.outsourcer_id, self.hourly = session, period, outsourcer_id, hourly
        self.dialect = session.get_bind().dialect

    def keys(self, user_column: Any, time_column: Any) -> list[Any]:
        return [user_column, _hour(time_column, self.dialect)] if self.hourly else [user_column]

    def restrict(self, stmt: Select[Any], user_column: Any, time_column: Any) -> Select[Any]:
        stmt = stmt.join(User, col(User.id) == user_column).where(
            col(User.role) == Role.AGENT, time_column >= self.period.since, time_column < self.period.until
        )
        if self.outsourcer_id is not None:
            stmt = stmt.where(col(User.outsourcer_id) == self.outsourcer_id)
        return stmt

    def key(self, row: Any) -> _Key:
        return (int(row[0]), _hour_value(row[1]) if self.hourly else None)

    def counts(self, user_column: Any, time_column: Any, *where: Any) -> dict[_Key, int]:
        keys = self.keys(user_column, time_column)
        stmt = self.restrict(sa_select(*keys, func.count()), user_column, time_column).where(*where).group_by(*keys)
        return {self.key(row): int(row[-1]) for row in self.session.execute(stmt).all()}

    def display_counts(self, kind: DisplayEventKind) -> dict[_Key, int]:
        return self.counts(col(DisplayEventRow.user_id), col(DisplayEventRow.occurred_at), DisplayEventRow.kind == kind)

    def outcomes(self) -> dict[_Key, dict[str, int]]:
        keys = self.keys(col(Lease.user_id), col(Lease.issued_at))
        stmt = self.restrict(
            sa_select(*keys, col(Disposition.code), func.count()).join(
                Disposition, col(Disposition.lease_id) == Lease.id
            ),
            col(Lease.user_id),
            col(Lease.issued_at),
        ).group_by(*keys, col(Disposition.code))
        found: dict[_Key, dict[str, int]] = defaultdict(dict)
        for row in self.session.execute(stmt).all():
            found[self.key(row)][str(row[-2])] = int(row[-1])
        return found

    def handling(self) -> dict[_Key, float]:
        keys = self.keys(col(Lease.user_id), col(Lease.issued_at))
        stmt = self.restrict(
            sa_select(*keys, col(Lease.issued_at), col(Disposition.created_at)).join(
                Disposition, col(Disposition.lease_id) == Lease.id
            ),
            col(Lease.user_id),
            col(Lease.issued_at),
        )
        spans: dict[_Key, list[float]] = defaultdict(list)
        for row in self.session.execute(stmt).all():
            spans[self.key(row)].append(max(0.0, (row[-1] - row[-2]).total_seconds()))
        return {k: round(statistics.median(v), 3) for k, v in spans.items()}


def _outsourcer_id(session: Session, name: str | None) -> int | None:
    if name is None:
        return None
    found = session.exec(select(Outsourcer.id).where(Outsourcer.name == name)).first()
    if found is None:
        raise NotFoundError(f"no outsourcer named '{name}'")
    return found


def _agents(session: Session, outsourcer_id: int | None) -> dict[int, tuple[str, str, bool]]:
    stmt = (
        select(User.id, User.login, Outsourcer.name, User.suspended)
        .outerjoin(Outsourcer, col(Outsourcer.id) == User.outsourcer_id)
        .where(User.role == Role.AGENT)
    )
    if outsourcer_id is not None:
        stmt = stmt.where(User.outsourcer_id == outsourcer_id)
    return {int(uid): (login, org or "", bool(susp)) for uid, login, org, susp in session.exec(stmt).all() if uid}


def _figures(session: Session, *, period: Period, outsourcer: str | None, hourly: bool) -> list[AgentFigures]:
    oid = _outsourcer_id(session, outsourcer)
    q = _Query(session, period=period, outsourcer_id=oid, hourly=hourly)
    agents = _agents(session, oid)
    issued = q.counts(col(Lease.user_id), col(Lease.issued_at))
    displayed = q.display_counts(DisplayEventKind.RECORD_DISPLAYED)
    blocked = q.display_counts(DisplayEventKind.ACTION_BLOCKED)
    alerts = q.counts(col(Alert.user_id), col(Alert.created_at))
    outcomes, handling = q.outcomes(), q.handling()
    keys: Iterable[_Key]
    if hourly:
        keys = set(issued) | set(displayed) | set(blocked) | set(alerts) | set(outcomes)
    else:
        keys = [(uid, None) for uid in agents]
    rows = [
        AgentFigures(
            login=agents[k[0]][0],
            outsourcer=agents[k[0]][1],
            hour=k[1],
            issued=issued.get(k, 0),
            displayed=displayed.get(k, 0),
            outcomes=dict(sorted(outcomes.get(k, {}).items())),
            median_handling_s=handling.get(k),
            blocked=blocked.get(k, 0),
            alerts=alerts.get(k, 0),
            suspended=agents[k[0]][2],
        )
        for k in keys
        if k[0] in agents
    ]
    return sorted(rows, key=lambda r: (r.hour or period.since, r.outsourcer, r.login))


def agent_report(session: Session, *, period: Period, outsourcer: str | None = None) -> list[AgentFigures]:
    """Every agent's figures over ``period`` (agents with nothing included, all zero).

    Args:
        session: A read session.
        period: The period (see :func:`parse_period`).
        outsourcer: Only this organisation's agents; all when None.

    Returns:
        One row per agent, by outsourcer then login.

    Raises:
        NotFoundError: Unknown outsourcer.
    """
    return _figures(session, period=period, outsourcer=outsourcer, hourly=False)


def hourly_report(session: Session, *, period: Period, outsourcer: str | None = None) -> list[AgentFigures]:
    """The agents' figures per UTC hour of ``period`` (only hours with something in them).

    Returns:
        One row per agent and hour, by hour, outsourcer and login.

    Raises:
        NotFoundError: Unknown outsourcer.
    """
    return _figures(session, period=period, outsourcer=outsourcer, hourly=True)


@dataclass(frozen=True, slots=True)
class CampaignProgress:
    """How many of a campaign's real contacts are in each state (canaries left out).

    Attributes:
        campaign: The campaign's name.
        states: Contacts by state (``new``, ``leased``, ``done``, ``suppressed``, ``erased``).
        total: All of them (staged ones are not counted).
    """

    campaign: str
    states: dict[str, int]
    total: int


def _state_counts(session: Session, campaign_ids: list[int]) -> Counter[tuple[int, str]]:
    """Contacts per (campaign, state), canaries and staged contacts left out.

    One ``count(*)`` per campaign and state, each a range of the covering
    ``(campaign_id, state, id)`` index (on SQLite 4-5 times faster than one
    GROUP BY over the same index: 40 ms against 180 ms for 1,000,000
    contacts); the canaries, counted through their small partial index, are
    subtracted, and so are the staged ones (:func:`owner_server.lists.visibility.staged_counts`,
    a probe of the unpublished batches only). Never a table scan.
    """
    counts: Counter[tuple[int, str]] = Counter()
    for cid in campaign_ids:
        for state in ContactState:
            where = (col(Contact.campaign_id) == cid, col(Contact.state) == state)
            counts[(cid, state.value)] = int(session.exec(select(func.count()).where(*where)).one())
    grouped = (col(Contact.campaign_id), col(Contact.state))
    canaries = select(*grouped, func.count()).where(col(Contact.is_canary) == True).group_by(*grouped)  # noqa: E712
    for cid, found, n in session.exec(canaries).all():
        counts[(int(cid), str(getattr(found, "value", found)))] -= int(n)
    counts.subtract(staged_counts(session, campaign_ids))  # an import's rows before it is published
    return counts


def campaign_progress(session: Session, *, campaign: str | None = None) -> list[CampaignProgress]:
    """Contacts per state of each campaign, canary contacts excluded.

    Raises:
        NotFoundError: Unknown campaign.
    """
    camps = [(cid, name) for cid, name in session.exec(select(Campaign.id, Campaign.name).order_by(col(Campaign.name)))]
    if campaign is not None:
        camps = [c for c in camps if c[1] == campaign]
        if not camps:
            raise NotFoundError(f"no campaign named '{campaign}'")
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for (cid, state), n in _state_counts(session, [cid for cid, _ in camps if cid is not None]).items():
        if n > 0:
            counts[cid][state] = n
    return [
        CampaignProgress(name, dict(sorted(counts[cid].items())), sum(counts[cid].values()))
        for cid, name in camps
        if cid is not None
    ]
