"""What one claim costs the database layer, counted exactly: statements sent and ORM flushes (issue 11).

A claim is what ``bench/claim_floor_bench.py`` measures: ``/next``, one
``record_displayed`` event and the outcome, through
:meth:`~owner_server.api.state.ServerState.agent_transaction`, every limit and
rule on. The figures are ceilings: a change that adds a round trip or an ORM
flush to the hot path fails here (the timing itself lives in ``bench/``).
"""

from __future__ import annotations

import warnings
from datetime import date, datetime

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from bench.claim_bench import PACE
from bench.claim_floor_bench import _seed, ours_claim
from owner_server.api.state import ServerState

#: Statements a claim sends, at most (three transactions; the driver's COMMIT is not a statement here).
#: PostgreSQL's display events take the agent's row lock (FOR NO KEY UPDATE) as /next and outcomes do: one more.
MAX_STATEMENTS = {"sqlite": 34, "postgresql": 31}
CLAIMS = 4


def _count(inst) -> tuple[float, float]:
    """Statements and ORM flushes per claim, over :data:`CLAIMS` claims after two warm-up claims.

    Statements are counted by the engine's ``before_cursor_execute`` event, which the prebuilt statements run on the
    DB-API cursor (``owner_server.core.prebuilt``) report to as well; on SQLite the driver's own trace
    (``sqlite3.Connection.set_trace_callback``, every connection checked out meanwhile) must see the same statements,
    besides its COMMITs: none is sent uncounted.
    """
    seats = _seed(inst, contacts=CLAIMS + 10, agents=2)
    state = ServerState(settings=inst.settings, engine=inst.engine, keys=inst.keys)
    for seat in seats:  # the first claim of an agent creates its session's sequence row: not the steady state
        ours_claim(state, seat)
        seat.now += PACE
    statements: list[str] = []
    flushes: list[object] = []
    traced: list[str] = []
    sqlite = inst.engine.dialect.name == "sqlite"

    def checkout(dbapi_conn, _record, _proxy) -> None:
        dbapi_conn.set_trace_callback(traced.append)

    def checkin(dbapi_conn, _record) -> None:
        dbapi_conn.set_trace_callback(None)

    def sent(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    def flushed(_session, _context, _objects) -> None:
        flushes.append(_session)

    event.listen(inst.engine, "before_cursor_execute", sent)
    event.listen(OrmSession, "before_flush", flushed)
    if sqlite:
        event.listen(inst.engine, "checkout", checkout)
        event.listen(inst.engine, "checkin", checkin)
    try:
        for n in range(CLAIMS):
            seat = seats[n % len(seats)]
            ours_claim(state, seat)
            seat.now += PACE
    finally:
        event.remove(inst.engine, "before_cursor_execute", sent)
        event.remove(OrmSession, "before_flush", flushed)
        if sqlite:
            event.remove(inst.engine, "checkout", checkout)
            event.remove(inst.engine, "checkin", checkin)
    if sqlite:
        sent_to_driver = [t for t in traced if t not in ("COMMIT", "ROLLBACK") and not t.startswith("--")]
        assert len(sent_to_driver) == len(statements), (sent_to_driver, statements)
    return len(statements) / CLAIMS, len(flushes) / CLAIMS


def test_a_claim_sends_at_most_the_counted_statements_and_flushes_no_orm_unit_of_work(any_installation):
    inst = any_installation
    statements, flushes = _count(inst)
    assert flushes == 0
    assert statements <= MAX_STATEMENTS[inst.engine.dialect.name], statements


def _values(parameters) -> list[object]:
    """Every value of a statement's DB-API parameters (one set or several; tuple or dict)."""
    sets = parameters if isinstance(parameters, list) else [parameters]
    return [v for one in sets for v in (one.values() if isinstance(one, dict) else one or ())]


def test_a_claim_on_sqlite_hands_the_driver_no_value_for_its_deprecated_default_adapters(installation):
    """Every time is bound through its column's type: none reaches sqlite3's default ``datetime`` adapter.

    That adapter is deprecated (Python 3.12, a ``DeprecationWarning``) and writes another text than the stored one
    (``isoformat(" ")``, with the offset): a bound value the driver must adapt itself is a bug on any Python.
    """
    seats = _seed(installation, contacts=CLAIMS + 10, agents=2)
    state = ServerState(settings=installation.settings, engine=installation.engine, keys=installation.keys)
    adapted: list[tuple[str, object]] = []

    def sent(_conn, _cursor, statement, parameters, *_args) -> None:
        adapted.extend((statement, v) for v in _values(parameters) if isinstance(v, date | datetime))

    event.listen(installation.engine, "before_cursor_execute", sent)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", category=DeprecationWarning, message=".*default .*adapter")
            for n in range(CLAIMS):
                seat = seats[n % len(seats)]
                ours_claim(state, seat)
                seat.now += PACE
    finally:
        event.remove(installation.engine, "before_cursor_execute", sent)
    assert adapted == []
