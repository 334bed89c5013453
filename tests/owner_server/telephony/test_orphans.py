"""The orphan check's findings and its two-checks rule; an end stored after a hang-up another process took."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from owner_server.api.app import create_app
from owner_server.models import AuditEntry, Call
from owner_server.models._common import utcnow
from owner_server.telephony.orphans import Finding, OrphanCheck, finding
from owner_server.telephony.provider import CallSpec, CallUpdate, Sink
from owner_server.telephony.runtime import Telephony
from owner_server.telephony.settings import TelephonySettings
from owner_server.telephony.store import apply_update
from shared.calls import CallResult, CallState

from .call_support import Recorder, logged_in, setup_agent


def _call(call_id: str = "c1", **kw) -> Call:
    return Call(id=call_id, lease_id="l", contact_id=1, user_id=1, campaign_id=1, request_id="r", provider="ari", **kw)


def test_findings_by_the_legs_asterisk_still_has():
    placed = _call(customer_channel="c1-customer", state="customer_ringing")
    assert finding(_call(state="dialing"), {"c1-agent"}) is Finding.FINE  # the agent's phone rings
    assert finding(_call(state="customer_ringing"), {"c1-agent"}) is Finding.FINE  # the customer's leg not placed yet
    assert finding(placed, {"c1-agent", "c1-customer"}) is Finding.FINE
    assert finding(placed, {"c1-agent"}) is Finding.AGENT_ALONE
    assert finding(placed, {"c1-customer", "c2-agent"}) is Finding.CUSTOMER_ALONE
    assert finding(placed, {"c2-agent", "c2-customer"}) is Finding.OVER


class _Legs:
    def __init__(self, channels: set[str]) -> None:
        self.channels, self.hung, self.dropped = channels, [], []

    def channel_ids(self) -> set[str]:
        return set(self.channels)

    def hangup_leg(self, channel_id: str) -> None:
        self.hung.append(channel_id)
        self.channels.discard(channel_id)

    def drop(self, call_id: str) -> None:
        self.dropped.append(call_id)


def _check(calls: list[Call], legs: _Legs, sink: Sink) -> OrphanCheck:
    check = OrphanCheck(engine=None, legs=legs, sink=sink, interval_s=1.0)  # type: ignore[arg-type]
    check._live_calls = lambda: calls  # type: ignore[method-assign]
    return check


def test_a_finding_is_acted_on_only_when_two_checks_a_while_apart_agree():
    answered = _call(customer_channel="c1-customer", state="answered", answered_at=utcnow())
    ended: list[CallUpdate] = []
    legs = _Legs({"c1-customer"})
    check = _check([answered], legs, ended.append)
    assert check.check_once(now=100.0) == 0  # first seen
    assert check.check_once(now=100.5) == 0 and legs.hung == []  # not long enough
    assert check.check_once(now=101.0) == 1 and legs.hung == ["c1-customer"]
    assert check.check_once(now=102.0) == 0 and ended == []  # now over: a new finding, seen once
    assert check.check_once(now=103.0) == 1
    assert legs.dropped == ["c1"] and [(u.state, u.result) for u in ended] == [(CallState.ENDED, CallResult.COMPLETED)]


def test_a_call_that_recovers_between_checks_is_left_alone():
    placed = _call(customer_channel="c1-customer", state="customer_ringing")
    legs = _Legs({"c1-agent"})
    check = _check([placed], legs, lambda _u: None)
    check.check_once(now=0.0)
    legs.channels.add("c1-customer")  # the finding was a moment between two events
    check.check_once(now=1.0)
    legs.channels.discard("c1-customer")
    assert check.check_once(now=2.0) == 0  # seen anew, not acted on
    assert legs.hung == []


class _Silent:
    """A provider that places nothing and reports nothing (another process follows the calls)."""

    name = "ari"

    def start(self, sink: Sink) -> None: ...

    def stop(self) -> None: ...

    def originate(self, spec: CallSpec) -> None: ...

    def hangup(self, *, call_id: str) -> None: ...


@contextlib.contextmanager
def _placed_call(installation) -> Iterator[tuple[Telephony, Recorder, str]]:
    """A server whose provider follows nothing (another process does) and a call its agent placed on it.

    Yields:
        The server's telephony (store the other process's updates with it), the agent, the call's id.
    """
    setup = setup_agent(installation)
    telephony = Telephony(TelephonySettings(), installation.engine, provider=_Silent())
    app = create_app(installation.settings, engine=installation.engine, keys=installation.keys, telephony=telephony)
    with TestClient(app, base_url="https://testserver") as client:
        agent = Recorder(client, logged_in(client, setup))
        record = agent.post("/next").json()["record"]
        call_id = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": "r1"}).json()["call_id"]
        yield telephony, agent, call_id


def test_an_end_after_a_hang_up_taken_by_another_process_is_cancelled_and_audited_once(any_installation):
    installation = any_installation
    with _placed_call(installation) as (telephony, agent, call_id):
        assert agent.post(f"/calls/{call_id}/hangup").json()["state"] == "dialing"  # this process asked ...
        # ... and the process following the call saw the customer's leg end, not knowing who asked
        for _ in range(2):
            telephony.store(CallUpdate(call_id=call_id, state=CallState.ENDED, result=CallResult.FAILED, cause=16))
        view = agent.get(f"/calls/{call_id}").json()
    assert (view["state"], view["result"]) == ("ended", "cancelled")
    with Session(installation.engine) as session:
        ends = session.exec(select(AuditEntry).where(AuditEntry.action == "call_ended")).all()
        assert len(ends) == 1 and '"cancelled"' in ends[0].details
        answered = session.get(Call, call_id)
        assert answered is not None and answered.ended_at is not None


def test_an_answered_call_hung_up_elsewhere_stays_completed(installation):
    with _placed_call(installation) as (telephony, agent, call_id):
        at = utcnow() - timedelta(seconds=5)
        with Session(installation.engine) as session:
            apply_update(session, update=CallUpdate(call_id=call_id, state=CallState.ANSWERED, at=at))
            session.commit()
        agent.post(f"/calls/{call_id}/hangup")
        telephony.store(CallUpdate(call_id=call_id, state=CallState.ENDED, result=CallResult.COMPLETED))
        view = agent.get(f"/calls/{call_id}").json()
    assert (view["state"], view["result"]) == ("ended", "completed") and view["talk_s"] >= 4
