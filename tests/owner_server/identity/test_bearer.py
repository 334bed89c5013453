"""The agent API's read-then-write split on SQLite: what changes between the two transactions is caught."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event
from sqlmodel import select, update

from owner_server.api import sqlite_agent
from owner_server.core.db import session_scope
from owner_server.identity import bearer
from owner_server.models import AccessToken, Alert, AuditEntry, Campaign, Lease, Outsourcer, User
from owner_server.work import distribution
from owner_server.work.suspension import suspend_agent
from shared.errors import AuthError, ErrorCode, ForbiddenError, NotFoundError

from ..helpers import seed
from .agent_support import INSIDE, Agent


@pytest.fixture
def agent(installation):
    setups = seed(installation, agents=("agent1",))
    client = Agent(installation, "agent1", setups["agent1"].enrolment_code)
    client.enrol()
    return client


def _between_read_and_write(monkeypatch, change) -> None:
    """Run ``change`` (committed, in its own transaction) after the token was read and before the write begins."""
    real = bearer.confirm

    def confirm_after_change(session, **kwargs):
        change()
        return real(session, **kwargs)

    monkeypatch.setattr(sqlite_agent, "confirm", confirm_after_change)


def _next(agent: Agent, token: str):
    state = agent.state
    with state.agent_transaction(token=token, address=INSIDE) as (session, principal):
        return distribution.next_record(session, agent=principal, keys=state.keys)


def _refused_after(installation, agent: Agent, monkeypatch, change, refusal: type[Exception]) -> Exception:
    """Ask for a record with ``change`` committed between the token's read and the write; nothing is leased.

    Returns:
        The ``refusal`` raised (so the test can look at its code).
    """
    token = agent.login().access_token
    _between_read_and_write(monkeypatch, change)
    with pytest.raises(refusal) as refused:
        _next(agent, token)
    with session_scope(installation.engine) as s:
        assert s.exec(select(Lease)).all() == []
    return refused.value


def test_a_suspension_between_the_read_and_the_write_stops_the_issuance(installation, agent, monkeypatch):
    def suspend() -> None:
        with session_scope(installation.engine) as s:
            user = s.exec(select(User).where(User.login == "agent1")).one()
            suspend_agent(s, user=user, reason="test", actor="test")

    refused = _refused_after(installation, agent, monkeypatch, suspend, ForbiddenError)
    assert refused.code is ErrorCode.ACCOUNT_SUSPENDED
    with session_scope(installation.engine) as s:
        assert "record_issued" not in {e.action for e in s.exec(select(AuditEntry))}


def test_a_token_revoked_between_the_read_and_the_write_is_refused(installation, agent, monkeypatch):
    def revoke() -> None:
        with session_scope(installation.engine) as s:
            s.execute(update(AccessToken).values(revoked=True))

    _refused_after(installation, agent, monkeypatch, revoke, AuthError)


def test_without_a_change_the_record_is_issued_and_audited_once(installation, agent):
    token = agent.login().access_token
    answer = _next(agent, token)
    assert answer.record is not None
    with session_scope(installation.engine) as s:
        issued = [e for e in s.exec(select(AuditEntry)) if e.action == "record_issued"]
        assert len(issued) == 1 and len(s.exec(select(Lease)).all()) == 1


def test_a_campaign_erased_between_the_read_and_the_write_issues_nothing(installation, agent, monkeypatch):
    def erase() -> None:
        with session_scope(installation.engine) as s:
            s.execute(update(Campaign).values(erased_at=Campaign.created_at))

    _refused_after(installation, agent, monkeypatch, erase, NotFoundError)


def test_an_outsourcer_network_set_between_the_read_and_the_write_refuses_the_address(installation, agent, monkeypatch):
    def fence() -> None:
        with session_scope(installation.engine) as s:
            s.execute(update(Outsourcer).values(networks=json.dumps(["192.0.2.0/24"])))

    refused = _refused_after(installation, agent, monkeypatch, fence, ForbiddenError)
    assert refused.code is ErrorCode.ADDRESS_NOT_ALLOWED
    with session_scope(installation.engine) as s:
        assert [a.rule for a in s.exec(select(Alert))] == ["outside_network"]  # the refusal's alert committed


def test_an_agent_request_checks_out_one_connection_commits_once_and_loads_no_orm_row(installation, agent):
    """Issue 11: the token's read and the write share one pooled connection and one commit; nothing enters the ORM."""
    token = agent.login().access_token
    seen: list[str] = []
    engine = installation.engine
    listeners = {name: (lambda *_a, _n=name: seen.append(_n)) for name in ("checkout", "commit", "rollback")}
    event.listen(engine.pool, "checkout", listeners["checkout"])
    event.listen(engine, "commit", listeners["commit"])
    event.listen(engine, "rollback", listeners["rollback"])
    try:
        with agent.state.agent_transaction(token=token, address=INSIDE) as (session, principal):
            assert len(session.identity_map) == 0
            assert principal.campaign is not None and principal.outsourcer is not None
            assert principal.actor.startswith("agent:")
    finally:
        event.remove(engine.pool, "checkout", listeners["checkout"])
        event.remove(engine, "commit", listeners["commit"])
        event.remove(engine, "rollback", listeners["rollback"])
    assert seen == ["checkout", "commit"]


def test_a_refused_token_takes_no_write_lock_and_commits_nothing(installation, agent):
    statements: list[str] = []

    def sent(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(installation.engine, "before_cursor_execute", sent)
    try:
        with pytest.raises(AuthError), agent.state.agent_transaction(token="not-a-token", address=INSIDE):
            pass
    finally:
        event.remove(installation.engine, "before_cursor_execute", sent)
    # at most the token's read (a statement run on the DB-API cursor below the engine is not seen here), never a BEGIN
    assert len(statements) <= 1 and not any("BEGIN" in s for s in statements)


def test_confirm_needs_the_read_transaction_it_follows(installation, agent):
    token = agent.login().access_token
    with session_scope(installation.engine) as s, pytest.raises(RuntimeError):
        bearer.confirm(s, token=token)
