"""Hang-up causes (Q.850, as Asterisk reports them) to call results."""

import pytest

from owner_server.telephony.causes import agent_leg_result, customer_leg_result
from shared.calls import CallResult


@pytest.mark.parametrize(
    ("cause", "requested", "result"),
    [
        (17, False, CallResult.BUSY),
        (19, False, CallResult.NO_ANSWER),
        (18, False, CallResult.NO_ANSWER),
        (34, False, CallResult.FAILED),
        (1, False, CallResult.FAILED),
        (None, False, CallResult.FAILED),
        (16, True, CallResult.CANCELLED),
    ],
)
def test_customer_leg(cause, requested, result):
    assert customer_leg_result(cause, hangup_requested=requested) is result


@pytest.mark.parametrize(
    ("cause", "requested", "result"),
    [
        (20, False, CallResult.AGENT_UNAVAILABLE),
        (3, False, CallResult.AGENT_UNAVAILABLE),
        (19, False, CallResult.AGENT_NO_ANSWER),
        (17, False, CallResult.AGENT_NO_ANSWER),
        (16, True, CallResult.CANCELLED),
    ],
)
def test_agent_leg(cause, requested, result):
    assert agent_leg_result(cause, hangup_requested=requested) is result
