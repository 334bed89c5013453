"""The claim path's statements, built once per process (issue 11: no SQL building, no ORM flush per claim).

A claim (``/next``, ``/events``, ``/dispositions``) runs these as Core
statements on the DB-API cursor of the session's connection (:func:`run`,
:func:`owner_server.core.prebuilt.run`): each is compiled once per dialect,
nothing is loaded into the ORM identity map and no unit of work is flushed.
Every value is a bound parameter named ``b_*`` (``b_`` because SQLAlchemy
reserves a column's own name in ``insert``/``update`` values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, bindparam, case, exists, func, insert, select, update
from sqlmodel import Session

from owner_server.core import prebuilt
from owner_server.models import Contact, DisplayEventRow, Disposition, Lease, SessionSequence, User
from owner_server.models._common import table_of

__all__ = [
    "CLOSE_LEASE",
    "COUNT_ISSUED",
    "EVENT_LEASES",
    "INSERT_DISPOSITION",
    "INSERT_EVENTS",
    "INSERT_LEASE",
    "INSERT_SEQUENCE",
    "KNOWN_EVENTS",
    "LEASE_CONTACT",
    "LEASE_FOR_OUTCOME",
    "MOVE_CONTACT",
    "OPEN_LEASE",
    "READ_SEQUENCE",
    "REISSUE_LEASE",
    "SET_CONTACT_STATE",
    "STORED_OUTCOME",
    "SUSPENDED",
    "SUSPENDED_LOCKED",
    "UPDATE_SEQUENCE",
    "run",
]

_LEASE = table_of(Lease)
_CONTACT = table_of(Contact)
_EVENT = table_of(DisplayEventRow)
_DISPOSITION = table_of(Disposition)
_SEQUENCE = table_of(SessionSequence)
_USER = table_of(User)


def run(
    session: Session, stmt: Executable, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
) -> Any:
    """Execute a prebuilt statement on the session's connection, in its transaction (no autoflush, no ORM loading).

    Below SQLAlchemy's engine, on the DB-API cursor (:func:`owner_server.core.prebuilt.run`).

    Returns:
        A result with ``first``/``one``/``all``/``scalar``/``scalar_one``/``scalars`` and ``rowcount``;
        rows are named tuples.
    """
    return prebuilt.run(session, stmt, params)


# --- the agent (owner_server.work.suspension.lock_agent) ---
SUSPENDED = select(_USER.c.suspended).where(_USER.c.id == bindparam("b_user_id"))
#: PostgreSQL: the agent's row locked ``FOR NO KEY UPDATE`` until the transaction ends.
SUSPENDED_LOCKED = SUSPENDED.with_for_update(key_share=True)

# --- /next (owner_server.work.distribution, owner_server.work.limits) ---
_LEASE_COLUMNS = (
    _LEASE.c.id,
    _LEASE.c.user_id,
    _LEASE.c.contact_id,
    _LEASE.c.issued_at,
    _LEASE.c.expires_at,
    _LEASE.c.closed_at,
    _LEASE.c.last_session_id,
)
OPEN_LEASE = select(*_LEASE_COLUMNS).where(_LEASE.c.user_id == bindparam("b_user_id"), _LEASE.c.closed_at.is_(None))
_ISSUED = _LEASE.c.issued_at


def _at(name: str) -> Any:
    """A time bound compared with ``lease.issued_at``, of that column's type.

    On the comparison's left a bare ``bindparam`` has no type: its value would reach the driver unprocessed
    (on SQLite through sqlite3's deprecated default datetime adapter, whose text is not the stored one).
    """
    return bindparam(name, type_=_ISSUED.type)


COUNT_ISSUED = select(
    func.count(),
    func.coalesce(func.sum(case((_at("b_hour_start") < _ISSUED, 1), else_=0)), 0),
    func.coalesce(func.sum(case((_at("b_day_start") <= _ISSUED, 1), else_=0)), 0),
    func.coalesce(func.sum(case((_at("b_window_start") < _ISSUED, 1), else_=0)), 0),
).where(_LEASE.c.user_id == bindparam("b_user_id"), _at("b_since") < _ISSUED)
INSERT_LEASE = insert(_LEASE)
SET_CONTACT_STATE = update(_CONTACT).where(_CONTACT.c.id == bindparam("b_id")).values(state=bindparam("b_state"))
REISSUE_LEASE = (
    update(_LEASE)
    .where(_LEASE.c.id == bindparam("b_id"))
    .values(last_session_id=bindparam("b_session_id"), reissues=_LEASE.c.reissues + 1)
)
#: What a record view needs of a contact (the pick's tiers select the same columns).
CONTACT_COLUMNS = (_CONTACT.c.id, _CONTACT.c.ref, _CONTACT.c.payload, _CONTACT.c.data_key_id, _CONTACT.c.attempts)
LEASE_CONTACT = select(*CONTACT_COLUMNS).where(_CONTACT.c.id == bindparam("b_id"))

# --- /events (owner_server.work.outcomes.record_events) ---
_PER_LEASE = (
    select(func.count()).where(_EVENT.c.lease_id == _LEASE.c.id).correlate(_LEASE).scalar_subquery().label("events")
)
_LAST_HOUR = (
    select(func.count())
    .where(_EVENT.c.user_id == bindparam("b_user_id"), _EVENT.c.received_at > bindparam("b_since"))
    .scalar_subquery()
    .label("agent_last_hour")
)
#: The batch's leases, each with its contact's ref and how many events it already has, and the agent's events
#: of the last hour (the same on every row: the caps of ``outcomes._check_event_cap`` without another round trip).
EVENT_LEASES = (
    select(*_LEASE_COLUMNS, _CONTACT.c.ref, _PER_LEASE, _LAST_HOUR)
    .join(_CONTACT, _CONTACT.c.id == _LEASE.c.contact_id)
    .where(_LEASE.c.id.in_(bindparam("b_lease_ids", expanding=True)))
)
KNOWN_EVENTS = select(_EVENT.c.event_id).where(
    _EVENT.c.user_id == bindparam("b_user_id"), _EVENT.c.event_id.in_(bindparam("b_event_ids", expanding=True))
)
INSERT_EVENTS = insert(_EVENT)

# --- the session's sequence numbers (owner_server.work.sequence) ---
READ_SEQUENCE = (
    select(_SEQUENCE.c.last_seq, _SEQUENCE.c.gaps)
    .where(_SEQUENCE.c.session_id == bindparam("b_session_id"))
    .with_for_update()
)
INSERT_SEQUENCE = insert(_SEQUENCE)
UPDATE_SEQUENCE = (
    update(_SEQUENCE)
    .where(_SEQUENCE.c.session_id == bindparam("b_session_id"))
    .values(last_seq=bindparam("b_last_seq"), gaps=bindparam("b_gaps"))
)

# --- /dispositions (owner_server.work.outcomes.record_disposition) ---
#: The lease (locked on PostgreSQL: a DNC withdrawal or expiry may race it), its contact, and whether it has an outcome.
LEASE_FOR_OUTCOME = (
    select(
        *_LEASE_COLUMNS,
        _CONTACT.c.ref,
        _CONTACT.c.data_key_id,
        _CONTACT.c.state,
        _CONTACT.c.attempts,
        _CONTACT.c.callback_at,
        _CONTACT.c.callback_user_id,
        _CONTACT.c.next_eligible_at,
        exists().where(_DISPOSITION.c.lease_id == _LEASE.c.id).label("has_outcome"),
    )
    .join(_CONTACT, _CONTACT.c.id == _LEASE.c.contact_id)
    .where(_LEASE.c.id == bindparam("b_lease_id"))
    .with_for_update(of=_LEASE)
)
STORED_OUTCOME = select(_DISPOSITION.c.id).where(
    _DISPOSITION.c.user_id == bindparam("b_user_id"), _DISPOSITION.c.outcome_id == bindparam("b_outcome_id")
)
MOVE_CONTACT = (
    update(_CONTACT)
    .where(_CONTACT.c.id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"),
        attempts=bindparam("b_attempts"),
        callback_at=bindparam("b_callback_at"),
        callback_user_id=bindparam("b_callback_user_id"),
        next_eligible_at=bindparam("b_next_eligible_at"),
    )
)
CLOSE_LEASE = update(_LEASE).where(_LEASE.c.id == bindparam("b_id")).values(closed_at=bindparam("b_closed_at"))
INSERT_DISPOSITION = insert(_DISPOSITION)
