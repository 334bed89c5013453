"""Q.850 hang-up causes (as Asterisk reports them in ``ChannelDestroyed.cause``) to a call's result.

See ITU-T Q.850 and Asterisk's ``causes.h``: 16 normal clearing, 17 user
busy, 18 no user responding, 19 no answer, 20 subscriber absent, 21 call
rejected, 3 no route to destination, 1 unallocated number, 34/38/41/42
network trouble.
"""

from __future__ import annotations

from shared.calls import CallResult

__all__ = ["NORMAL_CLEARING", "agent_leg_result", "customer_leg_result"]

NORMAL_CLEARING = 16
_BUSY = frozenset({17})
_NO_ANSWER = frozenset({18, 19})
_UNREACHABLE = frozenset({3, 20, 27, 31, 0})


def agent_leg_result(cause: int | None, *, hangup_requested: bool) -> CallResult:
    """How a call ended whose agent leg ended before the agent answered.

    Args:
        cause: The agent leg's hang-up cause.
        hangup_requested: Whether the agent asked (from the client) to hang up.
    """
    if hangup_requested:
        return CallResult.CANCELLED
    if cause in _UNREACHABLE:
        return CallResult.AGENT_UNAVAILABLE
    return CallResult.AGENT_NO_ANSWER


def customer_leg_result(cause: int | None, *, hangup_requested: bool) -> CallResult:
    """How a call ended whose customer leg ended before the customer answered.

    Args:
        cause: The customer leg's hang-up cause.
        hangup_requested: Whether the agent asked to hang up (or hung up its phone).
    """
    if hangup_requested:
        return CallResult.CANCELLED
    if cause in _BUSY:
        return CallResult.BUSY
    if cause in _NO_ANSWER:
        return CallResult.NO_ANSWER
    return CallResult.FAILED
