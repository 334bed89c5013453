"""The agent API's read-then-write split on SQLite: what changes between the two transactions is caught."""

from __future__ import annotations

import pytest
from sqlmodel import select, update

from owner_server.api import state as state_module
from owner_server.core.db import session_scope
from owner_server.identity import bearer
from owner_server.models import AccessToken, AuditEntry, Lease, User
from owner_server.work import distribution
from owner_server.work.suspension import suspend_agent
from shared.errors import AuthError, ErrorCode, ForbiddenError

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

    monkeypatch.setattr(state_module, "confirm", confirm_after_change)


def _next(agent: Agent, token: str):
    state = agent.state
    with state.agent_transaction(token=token, address=INSIDE) as (session, principal):
        return distribution.next_record(session, agent=principal, keys=state.keys)


def test_a_suspension_between_the_read_and_the_write_stops_the_issuance(installation, agent, monkeypatch):
    token = agent.login().access_token

    def suspend() -> None:
        with session_scope(installation.engine) as s:
            user = s.exec(select(User).where(User.login == "agent1")).one()
            suspend_agent(s, user=user, reason="test", actor="test")

    _between_read_and_write(monkeypatch, suspend)
    with pytest.raises(ForbiddenError) as refused:
        _next(agent, token)
    assert refused.value.code is ErrorCode.ACCOUNT_SUSPENDED
    with session_scope(installation.engine) as s:
        assert s.exec(select(Lease)).all() == []
        assert "record_issued" not in {e.action for e in s.exec(select(AuditEntry))}


def test_a_token_revoked_between_the_read_and_the_write_is_refused(installation, agent, monkeypatch):
    token = agent.login().access_token

    def revoke() -> None:
        with session_scope(installation.engine) as s:
            s.execute(update(AccessToken).values(revoked=True))

    _between_read_and_write(monkeypatch, revoke)
    with pytest.raises(AuthError):
        _next(agent, token)
    with session_scope(installation.engine) as s:
        assert s.exec(select(Lease)).all() == []


def test_without_a_change_the_record_is_issued_and_audited_once(installation, agent):
    token = agent.login().access_token
    answer = _next(agent, token)
    assert answer.record is not None
    with session_scope(installation.engine) as s:
        issued = [e for e in s.exec(select(AuditEntry)) if e.action == "record_issued"]
        assert len(issued) == 1 and len(s.exec(select(Lease)).all()) == 1
