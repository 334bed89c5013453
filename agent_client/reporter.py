"""What to do with an upload's answer, and the back-off between failed ones; no IO, no Qt.

:class:`agent_client.service.AgentService` uploads what the
:class:`agent_client.outbox.Outbox` holds and asks :func:`verdict` what a
failure means for the items it sent: keep and retry, keep until the next
login, or drop (the server refused them for good, or the lease is gone).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from agent_client.errors import ApiError, ClientError
from shared.errors import ErrorCode

__all__ = ["SESSION_ENDING", "Backoff", "Verdict", "verdict"]

#: Answers that end the login session: the items stay for the next login.
SESSION_ENDING = frozenset(
    {ErrorCode.UNAUTHORIZED, ErrorCode.TOKEN_EXPIRED, ErrorCode.DEVICE_REVOKED, ErrorCode.ACCOUNT_SUSPENDED}
)
#: Refusals that no retry can change (the request itself is wrong for the server).
_PERMANENT = frozenset({ErrorCode.BAD_REQUEST, ErrorCode.NOT_FOUND, ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.FORBIDDEN})


class Verdict(Enum):
    """What a failed upload means for the items it carried."""

    RETRY = "retry"
    """Kept; sent again after the back-off (network, server error, rate limit, conflict)."""
    KEEP = "keep"
    """Kept until the next login (the session ended)."""
    GONE = "gone"
    """The outcome's lease is gone (``no_lease``): withdrawn or expired, or stored by an earlier attempt."""
    REFUSED = "refused"
    """Refused for good; dropped (retrying would be refused again and block everything behind it)."""


def verdict(exc: ClientError) -> Verdict:
    """Classify a failed upload by its error."""
    if not isinstance(exc, ApiError):
        return Verdict.RETRY
    if exc.code in SESSION_ENDING:
        return Verdict.KEEP
    if exc.code == ErrorCode.NO_LEASE:
        return Verdict.GONE
    if exc.code in _PERMANENT:
        return Verdict.REFUSED
    return Verdict.RETRY


class Backoff:
    """Delays between failed uploads: the next one each failure, the last one from then on.

    Args:
        delays_ms: The delays in milliseconds, shortest first (at least one).
    """

    def __init__(self, delays_ms: Sequence[int]) -> None:
        if not delays_ms:
            raise ValueError("at least one delay is needed")
        self._delays = tuple(delays_ms)
        self.failures = 0

    def failed(self) -> int:
        """Count a failure; returns the delay before the next try, in milliseconds."""
        self.failures += 1
        return self._delays[min(self.failures, len(self._delays)) - 1]

    def succeeded(self) -> None:
        """Start again from the shortest delay."""
        self.failures = 0
