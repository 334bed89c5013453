"""Trying a request again when the server answers ``503 server_busy`` with ``Retry-After``.

At shift start thousands of agents log in within a minute; the server checks at
most a few passwords at once and answers the rest ``503`` with how long to wait
(:mod:`owner_server.api.login_gate`). The client waits that long times a random
factor in [1, 1.5) (jitter: agents refused together do not come back together,
and never earlier than the server asked), then tries again, until ``budget_s``
seconds of waiting are spent.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from agent_client.errors import ApiError
from shared.errors import ErrorCode

__all__ = ["retry_when_busy"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
#: The wait when a busy answer carries no usable ``Retry-After`` (seconds).
_DEFAULT_WAIT_S = 2.0
#: The longest single wait honoured (seconds).
_MAX_WAIT_S = 60.0


def retry_when_busy(
    call: Callable[[], _T],
    *,
    budget_s: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = lambda: random.uniform(1.0, 1.5),  # noqa: S311 - spreading retries, not a secret
) -> _T:
    """Run ``call``; while it raises a ``server_busy`` :class:`ApiError`, wait as the server says and run it again.

    Args:
        call: The whole request (a login fetches a fresh nonce each time).
        budget_s: Total seconds of waiting after which the busy error is raised.
        sleep: Waits (injected in tests).
        jitter: The factor each wait is multiplied by (at least 1).

    Returns:
        What ``call`` returned.

    Raises:
        ApiError: Any other refusal at once; ``server_busy`` once the budget is spent.
        NetworkError, ProtocolError: As ``call`` raises them.
    """
    waited = 0.0
    while True:
        try:
            return call()
        except ApiError as exc:
            if exc.code != ErrorCode.SERVER_BUSY:
                raise
            wait = min(exc.retry_after_s or _DEFAULT_WAIT_S, _MAX_WAIT_S) * max(1.0, jitter())
            if waited + wait > budget_s:
                raise
            log.info("server busy; trying again in %.1f s", wait)
            sleep(wait)
            waited += wait
