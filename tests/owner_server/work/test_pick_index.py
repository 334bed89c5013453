"""The pick's tiers stay index scans with a few thousand contacts, on SQLite and PostgreSQL (EXPLAIN)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session, select

from owner_server.identity.bearer import principal_for
from owner_server.models import Campaign, Contact, ContactState, User
from owner_server.work import claim_sql, distribution
from owner_server.work.context import load_context
from tests.owner_server.work.strategy_support import OPEN, make_agents, strategy_policy


def _fill(inst, n: int) -> None:
    with Session(inst.engine) as session:
        camp = session.exec(select(Campaign)).one()
        model = session.exec(select(Contact)).first()
        for i in range(n):  # mostly new or done; some retries; a few callbacks, as in a running campaign
            state = ContactState.CALLBACK if i % 40 == 3 else (ContactState.DONE if i % 2 else ContactState.NEW)
            session.add(
                Contact(
                    ref=uuid.uuid4().hex,
                    campaign_id=camp.id,
                    data_key_id=model.data_key_id,
                    payload=model.payload,
                    phone_bidx=uuid.uuid4().bytes,
                    state=state,
                    next_eligible_at=OPEN + timedelta(minutes=i % 50) if i % 8 == 2 else None,
                    callback_at=OPEN + timedelta(hours=1) if state is ContactState.CALLBACK else None,
                )
            )
        session.commit()
        if inst.engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE contact"))
            session.commit()
        else:
            session.execute(text("ANALYZE"))
            session.commit()


def _plans(inst, *, folded: bool = False) -> list[str]:
    """The plan of each tier's real statement, with its bind parameters, as the database explains it.

    ``folded``: the plan of the one statement the pick runs (every tier in a ``UNION ALL``) instead.

    On PostgreSQL the plan is the generic one (``force_generic_plan``): what a
    prepared statement settles on after a few executions.
    """
    from sqlalchemy import event

    caught: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM contact" in statement and "ORDER BY contact." in statement:
            caught.append((statement, parameters))

    pg = inst.engine.dialect.name == "postgresql"
    captured: list[str] = []
    with Session(inst.engine) as session:
        if pg:
            session.execute(text("SET plan_cache_mode = force_generic_plan"))
        user = session.exec(select(User)).first()
        ctx = load_context(principal_for(session, user=user, session_id="s", device_id="d"))
        event.listen(inst.engine, "before_cursor_execute", capture)
        try:  # every tier's real statement, as the pick runs it (the pick itself stops at the first that finds one)
            for stmt in (distribution.pick_statement(),) if folded else distribution.tier_statements():
                claim_sql.run(session, stmt, distribution.pick_params(ctx, OPEN)).first()  # as the pick runs it
        finally:
            event.remove(inst.engine, "before_cursor_execute", capture)
        cursor = session.connection().connection.dbapi_connection.cursor()
        for statement, parameters in caught:
            cursor.execute(("EXPLAIN " if pg else "EXPLAIN QUERY PLAN ") + statement, parameters)
            captured.append("\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall()))
    return captured


def test_every_tier_of_the_pick_is_an_index_scan(any_installation):
    inst = any_installation
    make_agents(inst, strategy_policy(), agents=1, contacts=2)
    _fill(inst, 4000)
    plans = _plans(inst)
    assert len(plans) == 5
    for plan in plans:
        lines = [line.strip() for line in plan.splitlines()]
        scans = [line for line in lines if re.search(r"(SEARCH|SCAN) contact\b| on contact\b", line)]
        assert scans, plan  # the contact table is read through one of its indexes, never scanned whole
        assert all(
            "Seq Scan" not in line and re.search(r"USING (COVERING )?INDEX|Index|Bitmap Heap", line) for line in scans
        ), plan
    fresh, retry = plans[4], plans[3]  # the new-contact tiers read their partial index, not (campaign_id, state)
    assert "ix_contact_fresh_pick" in fresh and "ix_lease_contact_user" in fresh, fresh
    # read only up to the last published batch: a running import's rows are never walked (issue 10)
    assert re.search(r"pick_batch ?<", fresh), fresh
    assert "ix_contact_retry_pick" in retry, retry
    for callback in plans[:3]:  # due callbacks in due order: the pending ones are never walked
        assert "ix_contact_callback_pick" in callback, callback


def test_the_folded_pick_reads_every_tier_through_its_own_index(any_installation):
    inst = any_installation
    make_agents(inst, strategy_policy(), agents=1, contacts=2)
    _fill(inst, 4000)
    (plan,) = _plans(inst, folded=True)
    lines = [line.strip() for line in plan.splitlines()]
    scans = [line for line in lines if re.search(r"(SEARCH|SCAN) contact\b| on contact\b", line)]
    assert len(scans) >= 5, plan
    assert all(
        "Seq Scan" not in line and re.search(r"USING (COVERING )?INDEX|Index|Bitmap Heap", line) for line in scans
    )
    for index in ("ix_contact_callback_pick", "ix_contact_retry_pick", "ix_contact_fresh_pick"):
        assert index in plan, plan
