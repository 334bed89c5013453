"""Prebuilt statements on the DB-API cursor store and read back exactly what SQLAlchemy does (issue 11).

Each case runs the same prebuilt statement twice, once through
:func:`owner_server.core.prebuilt.run` and once through SQLAlchemy's
``Connection.execute``, on SQLite and on a real PostgreSQL: the stored values
(read back raw, on the driver's cursor) and the rows returned must be the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, event, exc
from sqlmodel import Session, select

from bench.claim_floor_bench import _seed
from owner_server.core import prebuilt
from owner_server.core.prebuilt_result import PrebuiltResult
from owner_server.models import Contact, ContactState, User
from owner_server.models._common import UtcDateTime, new_ref
from owner_server.work import claim_sql

NOW = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def _raw(session: Session, sql: str, *values: object) -> list[tuple[object, ...]]:
    """Rows as the driver returns them, no SQLAlchemy type processing (``?`` placeholders rewritten for psycopg)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql, values)
        return [tuple(r) for r in cursor.fetchall()]
    finally:
        cursor.close()


def _lease_row(user: User, contact: Contact, *, closed: datetime | None) -> dict[str, object]:
    return {
        "id": new_ref(),
        "user_id": user.id,
        "contact_id": contact.id,
        "campaign_id": contact.campaign_id,
        "issued_at": NOW,
        "expires_at": NOW + timedelta(minutes=15),
        "closed_at": closed,
        "last_session_id": "s1",
        "reissues": 0,
    }


@pytest.fixture
def seeded(any_installation):
    _seed(any_installation, contacts=4, agents=2)
    return any_installation


def test_a_prebuilt_statement_stores_the_values_sqlalchemy_stores_and_reads_back_the_same_rows(seeded):
    with Session(seeded.engine) as session:
        users = session.exec(select(User).where(User.login.startswith("agent"))).all()
        contacts = session.exec(select(Contact)).all()
        ours = _lease_row(users[0], contacts[0], closed=NOW + timedelta(seconds=1))
        theirs = _lease_row(users[1], contacts[1], closed=NOW + timedelta(seconds=1))
        conn = session.connection()
        assert isinstance(prebuilt.run(session, claim_sql.INSERT_LEASE, ours), PrebuiltResult)
        conn.execute(claim_sql.INSERT_LEASE, theirs)
        state = {"b_state": ContactState.CALLBACK}
        prebuilt.run(session, claim_sql.SET_CONTACT_STATE, state | {"b_id": contacts[0].id})
        conn.execute(claim_sql.SET_CONTACT_STATE, state | {"b_id": contacts[1].id})

        stored = _raw(
            session,
            "SELECT issued_at, expires_at, closed_at, last_session_id, reissues FROM lease"
            " WHERE id IN (?, ?) ORDER BY id",
            *sorted([ours["id"], theirs["id"]]),
        )
        assert stored[0] == stored[1]  # the same bytes: SQLite's datetime text, PostgreSQL's timestamptz
        if session.connection().dialect.name == "sqlite":
            assert stored[0][0] == "2026-03-04 05:06:07.891011"
        states = _raw(session, "SELECT state FROM contact WHERE id IN (?, ?)", contacts[0].id, contacts[1].id)
        assert states == [("CALLBACK",), ("CALLBACK",)]  # the enum's name, as SQLAlchemy writes it

        for lease_id in (ours["id"], theirs["id"]):
            params = {"b_lease_id": lease_id}
            mine = prebuilt.run(session, claim_sql.LEASE_FOR_OUTCOME, params)
            sa = conn.execute(claim_sql.LEASE_FOR_OUTCOME, params)
            want = sa.one()
            got = mine.one()
            assert tuple(got) == tuple(want)
            assert got._fields == tuple(sa.keys())  # type: ignore[attr-defined]
            assert [type(v) for v in got] == [type(v) for v in want]
            assert got.issued_at == NOW and got.issued_at.tzinfo is not None  # type: ignore[attr-defined]
            assert got.state is ContactState.CALLBACK  # type: ignore[attr-defined]
            assert got.has_outcome is False  # type: ignore[attr-defined]

        expanding = {"b_lease_ids": [ours["id"], theirs["id"]], "b_user_id": users[0].id, "b_since": NOW}
        mine_rows = prebuilt.run(session, claim_sql.EVENT_LEASES, expanding).all()
        sa_rows = conn.execute(claim_sql.EVENT_LEASES, expanding).all()
        assert sorted(tuple(r) for r in mine_rows) == sorted(tuple(r) for r in sa_rows)
        assert len(mine_rows) == 2
        count = prebuilt.run(session, claim_sql.COUNT_ISSUED, _count_params(users[0].id)).one()
        assert tuple(count) == tuple(conn.execute(claim_sql.COUNT_ISSUED, _count_params(users[0].id)).one())
        session.rollback()


def _count_params(user_id: int | None) -> dict[str, object]:
    before = NOW - timedelta(days=1)
    times = {"b_since": before, "b_hour_start": before, "b_day_start": before, "b_window_start": before}
    return {"b_user_id": user_id} | times


def test_the_runner_reports_every_statement_to_the_engine_listeners_and_raises_sqlalchemy_errors(seeded):
    seen: list[tuple[str, bool]] = []

    def sent(_conn, _cursor, statement, _params, _context, executemany) -> None:
        seen.append((statement, executemany))

    with Session(seeded.engine) as session:
        users = session.exec(select(User).where(User.login.startswith("agent"))).all()
        contacts = session.exec(select(Contact)).all()
        row = _lease_row(users[0], contacts[0], closed=None)
        event.listen(seeded.engine, "before_cursor_execute", sent)
        try:
            prebuilt.run(session, claim_sql.INSERT_LEASE, row)
            rows = [
                {"b_id": contacts[2].id, "b_state": ContactState.DONE},
                {"b_id": contacts[3].id, "b_state": ContactState.DONE},
            ]
            result = prebuilt.run(session, claim_sql.SET_CONTACT_STATE, rows)  # executemany
            with pytest.raises(exc.IntegrityError):
                prebuilt.run(session, claim_sql.INSERT_LEASE, row)  # the same primary key again
        finally:
            event.remove(seeded.engine, "before_cursor_execute", sent)
        assert [many for _sql, many in seen] == [False, True, False]
        assert all(sql.startswith(("INSERT INTO lease", "UPDATE contact")) for sql, _many in seen)
        assert result.rowcount in (2, -1)  # psycopg's executemany may not sum it
        session.rollback()


def test_a_missing_parameter_falls_back_to_sqlalchemy_and_its_error(seeded):
    with Session(seeded.engine) as session, pytest.raises(exc.StatementError):
        prebuilt.run(session, claim_sql.OPEN_LEASE, {})


def test_count_issued_compares_its_time_bounds_as_the_column_stores_times(seeded):
    """An issuance at exactly a bound: ``day_start <= issued_at`` counts it, ``hour_start < issued_at`` does not.

    The bounds are typed as ``lease.issued_at`` is: on SQLite they are bound as its stored text, not through
    sqlite3's (deprecated) default adapter, whose text (with ``+00:00``) sorts after the stored one.
    """
    with Session(seeded.engine) as session:
        user = session.exec(select(User).where(User.login.startswith("agent"))).first()
        contact = session.exec(select(Contact)).first()
        assert user is not None and contact is not None
        prebuilt.run(session, claim_sql.INSERT_LEASE, _lease_row(user, contact, closed=None))
        at = {"b_hour_start": NOW, "b_day_start": NOW, "b_window_start": NOW - timedelta(seconds=1)}
        params = {"b_user_id": user.id, "b_since": NOW - timedelta(seconds=1)} | at
        binds = claim_sql.COUNT_ISSUED.compile().binds.values()
        bounds = {b.key: b.type for b in binds if b.key.startswith("b_") and b.key != "b_user_id"}
        assert sorted(bounds) == sorted(at | {"b_since": None})
        assert all(isinstance(t, UtcDateTime) for t in bounds.values())
        assert tuple(prebuilt.run(session, claim_sql.COUNT_ISSUED, params).one()) == (1, 0, 1, 1)
        assert tuple(session.connection().execute(claim_sql.COUNT_ISSUED, params).one()) == (1, 0, 1, 1)
        session.rollback()


def test_values_set_with_params_are_bound_as_sqlalchemy_binds_them(seeded):
    with Session(seeded.engine) as session:
        users = session.exec(select(User).where(User.login.startswith("agent")).order_by(User.id)).all()
        first, second = users[0], users[1]
        by_id = select(User.login).where(User.id == bindparam("b_id", value=-1))
        stmts = [
            by_id.params(b_id=first.id),  # over the bindparam's own value
            select(User.login).where(User.id == bindparam("b_id")).params(b_id=first.id),  # a required one
            select(User.login)
            .where(User.id.in_(bindparam("b_ids", expanding=True)))
            .params(b_ids=[first.id, second.id])
            .order_by(User.login),
            select(User.login).where(User.login == by_id.params(b_id=second.id).scalar_subquery()),  # inside
        ]
        conn = session.connection()
        for stmt in stmts:
            ours = prebuilt.run(session, stmt)
            assert isinstance(ours, PrebuiltResult)  # on the DB-API cursor, not SQLAlchemy's fallback
            assert [tuple(r) for r in ours.all()] == [tuple(r) for r in conn.execute(stmt).all()]
        assert prebuilt.run(session, stmts[0]).scalar_one() == first.login
        assert prebuilt.run(session, stmts[0], {"b_id": second.id}).scalar_one() == second.login  # the call's first
