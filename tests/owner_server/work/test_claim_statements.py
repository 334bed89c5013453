"""What one claim costs the database layer, counted exactly: statements sent and ORM flushes (issue 11).

A claim is what ``bench/claim_floor_bench.py`` measures: ``/next``, one
``record_displayed`` event and the outcome, through
:meth:`~owner_server.api.state.ServerState.agent_transaction`, every limit and
rule on. The figures are ceilings: a change that adds a round trip or an ORM
flush to the hot path fails here (the timing itself lives in ``bench/``).
"""

from __future__ import annotations

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
    """Statements and ORM flushes per claim, over :data:`CLAIMS` claims after two warm-up claims."""
    seats = _seed(inst, contacts=CLAIMS + 10, agents=2)
    state = ServerState(settings=inst.settings, engine=inst.engine, keys=inst.keys)
    for seat in seats:  # the first claim of an agent creates its session's sequence row: not the steady state
        ours_claim(state, seat)
        seat.now += PACE
    statements: list[str] = []
    flushes: list[object] = []

    def sent(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    def flushed(_session, _context, _objects) -> None:
        flushes.append(_session)

    event.listen(inst.engine, "before_cursor_execute", sent)
    event.listen(OrmSession, "before_flush", flushed)
    try:
        for n in range(CLAIMS):
            seat = seats[n % len(seats)]
            ours_claim(state, seat)
            seat.now += PACE
    finally:
        event.remove(inst.engine, "before_cursor_execute", sent)
        event.remove(OrmSession, "before_flush", flushed)
    return len(statements) / CLAIMS, len(flushes) / CLAIMS


def test_a_claim_sends_at_most_the_counted_statements_and_flushes_no_orm_unit_of_work(any_installation):
    inst = any_installation
    statements, flushes = _count(inst)
    assert flushes == 0
    assert statements <= MAX_STATEMENTS[inst.engine.dialect.name], statements
