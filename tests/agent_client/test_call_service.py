"""CallService over the real AgentApi against the in-memory fake of the agent API (an edge fake)."""

import pytest

from agent_client.api import CallApi
from agent_client.call_service import CallService
from agent_client.service import AgentService
from shared.errors import ErrorCode
from tests.agent_client.test_service import TIMEOUT, login


@pytest.fixture
def calls(qtbot, api):
    agent_service = AgentService(api, device_name="test-pc")
    login(qtbot, agent_service)
    call_service = CallService(CallApi(api), poll_ms=10, network_retry_ms=(20,))
    yield call_service
    call_service.shutdown(TIMEOUT)
    agent_service.shutdown(TIMEOUT)  # stops its timers: none may fire into a later test


def follow(qtbot, calls):
    states = []
    calls.call_updated.connect(lambda view: states.append(view))
    return states


def test_a_call_is_followed_until_it_ended(qtbot, calls, fake_server):
    states = follow(qtbot, calls)
    calls.place_call("lease-1")
    qtbot.waitUntil(lambda: bool(states) and states[-1].state == "ended", timeout=TIMEOUT)
    assert [s.state for s in states] == ["dialing", "agent_ringing", "customer_ringing", "answered", "ended"]
    assert states[3].fields[0].name == "pesel" and states[-1].fields == ()
    assert calls.live_call is None
    assert len(fake_server.call_requests) == 1
    polls = len(fake_server.requests)
    qtbot.wait(100)
    assert len(fake_server.requests) == polls  # no polling after the end


def test_one_request_id_per_press(qtbot, calls, fake_server):
    states = follow(qtbot, calls)
    calls.place_call("lease-1")
    qtbot.waitUntil(lambda: len(states) >= 1, timeout=TIMEOUT)
    calls.place_call("lease-1")  # a second press while live places nothing
    qtbot.waitUntil(lambda: states[-1].state == "ended", timeout=TIMEOUT)
    assert len(fake_server.call_requests) == 1
    assert len(fake_server.call_requests[0]["request_id"]) == 32


def test_hang_up_ends_the_call(qtbot, calls, fake_server):
    fake_server.call_script = [{"state": "agent_ringing"}] * 50 + [{"state": "ended", "result": "cancelled"}]
    states = follow(qtbot, calls)
    calls.place_call("lease-1")
    qtbot.waitUntil(lambda: len(states) >= 2, timeout=TIMEOUT)
    calls.hang_up(states[-1].call_id)
    qtbot.waitUntil(lambda: states[-1].state == "ended", timeout=TIMEOUT)
    assert fake_server.hung_up and states[-1].result == "cancelled"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (ErrorCode.DO_NOT_CALL, "This customer is on the do-not-call list now. Choose an outcome without calling."),
        (ErrorCode.OUTSIDE_CALLING_HOURS, "Customers may not be called now: outside the campaign's calling hours."),
    ],
)
def test_a_refused_call_says_why(qtbot, calls, fake_server, code, message):
    fake_server.call_refusal = code
    with qtbot.waitSignal(calls.call_failed, timeout=TIMEOUT) as failed:
        calls.place_call("lease-1")
    assert failed.args == [str(code), message]
    assert calls.live_call is None


def test_verify_answers_and_exhaustion(qtbot, calls, fake_server):
    with qtbot.waitSignal(calls.verified, timeout=TIMEOUT) as answered:
        calls.verify("lease-1", "birth_date", "1990-01-31")
    assert answered.args[0].match and answered.args[0].tries_left == 2
    fake_server.verify_tries = 3
    with qtbot.waitSignal(calls.verify_failed, timeout=TIMEOUT) as failed:
        calls.verify("lease-1", "birth_date", "1990-01-30")
    assert failed.args[:2] == ["birth_date", "verify_exhausted"]
