"""PostgreSQL: what an admin commits while an agent request waits for the agent's row lock is what the request sees.

Each test: a second connection holds the agent's row lock (``FOR NO KEY UPDATE``, the lock the agent's own
requests take), ``/next`` runs in a thread and waits for it, an admin change commits, the lock is released. The
request must get the refusal it would get without the race, issue nothing, and leave the audit log consistent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlmodel import Session, select

from owner_server.api.app import create_app
from owner_server.audit.log import verify_chain
from owner_server.core.db import session_scope
from owner_server.identity import agents as agent_admin
from owner_server.identity import outsourcers
from owner_server.models import AccessToken, Alert, AuditEntry, Call, Lease, User
from owner_server.work import distribution
from shared.errors import AuthError, CustosError, ErrorCode, ForbiddenError, QuotaReachedError

from ..helpers import seed
from .agent_support import INSIDE, Agent

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_installation(pg_cluster, tmp_path) -> Iterator[object]:
    from tests.conftest import _make_installation

    inst = _make_installation(tmp_path, pg_cluster.new_database())
    yield inst
    inst.close()  # type: ignore[attr-defined]


@pytest.fixture
def agent(pg_installation):
    setups = seed(pg_installation, agents=("agent1",))
    client = Agent(pg_installation, "agent1", setups["agent1"].enrolment_code)
    client.enrol()
    return client


def _next(agent: Agent, token: str):
    state = agent.state
    with state.agent_transaction(token=token, address=INSIDE) as (session, principal):
        return distribution.next_record(session, agent=principal, keys=state.keys)


def _wait_for_lock_waiter(engine, timeout: float = 20.0) -> None:
    """Until a backend of this database waits for a row lock (the request, blocked on the agent's row)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the request never waited for the agent's row lock")


def _race(
    inst,
    agent: Agent,
    token: str,
    change: Callable[[Session], None],
    *,
    in_holder: bool = False,
    run: Callable[[], object] | None = None,
):
    """Run ``/next`` while the agent's row is locked; commit ``change`` meanwhile; release; return what /next gave.

    ``in_holder``: the change is made by the lock's holder (a suspension writes the agent's row itself).
    ``run``: another request than ``/next``.
    """
    outcome: dict[str, object] = {}

    def request() -> None:
        try:
            outcome["answer"] = run() if run is not None else _next(agent, token)
        except CustosError as error:
            outcome["error"] = error

    with Session(inst.engine) as holder:
        user = holder.exec(select(User).where(User.login == "agent1").with_for_update(key_share=True)).one()
        thread = threading.Thread(target=request)
        thread.start()
        try:
            _wait_for_lock_waiter(inst.engine)
            if in_holder:
                change(holder)
                holder.commit()  # releases the lock
            else:
                with session_scope(inst.engine) as admin:
                    change(admin)
                assert thread.is_alive()  # still waiting: the change committed while it waited
                holder.rollback()  # releases the lock
        finally:
            thread.join(30)
        assert user.id is not None
    assert not thread.is_alive()
    return outcome


def _refusal_without_race(agent: Agent, token: str) -> CustosError:
    with pytest.raises(CustosError) as refused:
        _next(agent, token)
    return refused.value


def _assert_issued(inst, *, leases: int) -> None:
    """Exactly ``leases`` leases, each audited ``record_issued`` once, and the audit chain intact."""
    with Session(inst.engine) as s:
        assert len(s.exec(select(Lease)).all()) == leases
        issued = [e for e in s.exec(select(AuditEntry)) if e.action == "record_issued"]
        assert len(issued) == leases
        assert verify_chain(s, public_key=None).ok


def _assert_same_refusal(got: dict[str, object], again: CustosError, kind: type[CustosError]) -> None:
    assert "answer" not in got, got
    error = got["error"]
    assert isinstance(error, kind) and isinstance(again, kind)
    assert (type(error), error.code) == (type(again), again.code)


def test_a_device_revoked_while_next_waits_for_the_agent_lock_issues_nothing(pg_installation, agent):
    token = agent.login().access_token

    def revoke(s: Session) -> None:
        agent_admin.revoke_devices(s, login="agent1", actor="admin:test")

    got = _race(pg_installation, agent, token, revoke)
    _assert_same_refusal(got, _refusal_without_race(agent, token), AuthError)
    _assert_issued(pg_installation, leases=0)


def test_a_token_revoked_while_next_waits_for_the_agent_lock_issues_nothing(pg_installation, agent):
    token = agent.login().access_token

    def revoke(s: Session) -> None:
        s.execute(update(AccessToken).values(revoked=True))

    got = _race(pg_installation, agent, token, revoke)
    _assert_same_refusal(got, _refusal_without_race(agent, token), AuthError)
    _assert_issued(pg_installation, leases=0)


def test_networks_changed_while_next_waits_for_the_agent_lock_refuse_the_address(pg_installation, agent):
    token = agent.login().access_token

    def fence(s: Session) -> None:
        outsourcers.set_networks(s, name="BPO", cidrs=["192.0.2.0/24"], clear=False, actor="admin:test")

    got = _race(pg_installation, agent, token, fence)
    _assert_same_refusal(got, _refusal_without_race(agent, token), ForbiddenError)
    assert getattr(got["error"], "code", None) is ErrorCode.ADDRESS_NOT_ALLOWED
    _assert_issued(pg_installation, leases=0)
    with Session(pg_installation.engine) as s:
        assert [a.rule for a in s.exec(select(Alert))] == ["outside_network"]  # the refusal's alert committed, once


def test_limits_lowered_while_next_waits_for_the_agent_lock_refuse_with_the_new_quota(pg_installation, agent):
    token = agent.login().access_token
    first = _next(agent, token)
    assert first.record is not None
    with session_scope(pg_installation.engine) as s:  # the first record is done with: /next would issue another
        s.execute(update(Lease).values(closed_at=Lease.issued_at))

    def lower(s: Session) -> None:
        outsourcers.set_limits(s, name="BPO", per_hour=1, per_day=None, clear=False, actor="admin:test")

    got = _race(pg_installation, agent, token, lower)
    again = _refusal_without_race(agent, token)
    _assert_same_refusal(got, again, QuotaReachedError)
    assert "limit of 1 records an hour" in str(got["error"])
    _assert_issued(pg_installation, leases=1)


def test_an_agent_suspended_while_next_waits_for_the_agent_lock_issues_nothing(pg_installation, agent):
    token = agent.login().access_token

    def suspend(s: Session) -> None:  # by the lock's holder: a suspension writes the agent's row
        agent_admin.suspend(s, login="agent1", reason="test", actor="admin:test")

    got = _race(pg_installation, agent, token, suspend, in_holder=True)
    _assert_same_refusal(got, _refusal_without_race(agent, token), ForbiddenError)
    assert getattr(got["error"], "code", None) is ErrorCode.ACCOUNT_SUSPENDED
    _assert_issued(pg_installation, leases=0)


def test_without_a_change_the_waiting_request_is_issued_its_record(pg_installation, agent):
    token = agent.login().access_token
    got = _race(pg_installation, agent, token, lambda s: None)
    answer = got.get("answer")
    assert answer is not None and answer.record is not None  # type: ignore[attr-defined]
    _assert_issued(pg_installation, leases=1)


def test_a_call_placed_while_the_device_is_revoked_under_the_agent_lock_is_refused(pg_installation, agent):
    """``POST /calls`` through the app: refused 401 as without the race (not a telephony answer: no call prepared)."""
    token = agent.login().access_token
    record = _next(agent, token).record
    assert record is not None
    app = create_app(pg_installation.settings, engine=pg_installation.engine, keys=pg_installation.keys)
    body = {"lease_id": record.lease_id, "request_id": "call-1"}
    with TestClient(app, base_url="https://testserver") as client:

        def place():
            return client.post("/api/v1/agent/calls", json=body, headers={"Authorization": f"Bearer {token}"})

        def revoke(s: Session) -> None:
            agent_admin.revoke_devices(s, login="agent1", actor="admin:test")

        got = _race(pg_installation, agent, token, revoke, run=place)["answer"]
        again = place()
    refused = (401, ErrorCode.UNAUTHORIZED.value)
    assert (got.status_code, got.json()["code"]) == (again.status_code, again.json()["code"]) == refused
    with Session(pg_installation.engine) as s:
        assert s.exec(select(Call)).all() == []
