"""The login gate: how many password checks one server process runs at once, and how many may wait.

An agent login checks an Argon2id hash: CPU-bound work of tens to hundreds of
milliseconds. At shift start thousands of agents log in within a minute; run
without a bound, the checks would take every request thread and database
connection, and ``/next`` of the agents already working would wait behind them.
So the checks run in a pool of their own (``slots`` threads; argon2-cffi releases
the GIL, so they use the cores while the event loop keeps answering), at most
``slots + queue`` admitted at once; one more is answered at once with ``503
server_busy`` and a ``Retry-After`` (RFC 9110, section 10.2.3), instead of
queueing without end. The agent client waits that long plus jitter and tries
again (:mod:`agent_client.busy_retry`).

``Retry-After`` is the estimated time to check what is admitted *and* what was
refused lately (a count of refusals decaying with a 10 s time constant): every
refused agent comes back, so a wait sized to the queue alone would bring all of
them back at once, and the retries (a nonce, a refused login, each a request)
would take the CPU the checks need. Measured: 3,000 agents told "1-5 s" spent
more of the servers' CPU on retries than on Argon2id (bench/README.md).
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from shared.errors import BusyError
from shared.limits import LIMITS

__all__ = ["LoginGate"]

_T = TypeVar("_T")
#: Weight of the newest check's duration in the running mean.
_ALPHA = 0.2
#: Time constant of the decaying count of refusals (seconds).
_REFUSALS_TAU_S = 10.0


class LoginGate:
    """Bounds the password checks of one process.

    Args:
        slots: Checks run at once (threads); ``0``: one per CPU.
        queue: Checks that may wait for a slot; one more is refused with :class:`BusyError`.
        first_estimate_s: A check's duration assumed until one was timed (seconds).
        max_wait_s: Longest expected wait admitted (seconds): a login that waits longer than its nonce
            lives (``LIMITS.nonce_ttl_s``) fails, and failures count towards the lock-out; so a check
            expected to start later than this is refused busy even when the queue has room.
    """

    def __init__(
        self, *, slots: int, queue: int, first_estimate_s: float = 0.2, max_wait_s: float = LIMITS.nonce_ttl_s / 4
    ) -> None:
        self.slots = slots or os.cpu_count() or 1
        self.queue = queue
        self.max_wait_s = max_wait_s
        self._admitted = 0
        self._mean_s = first_estimate_s
        self._turns: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._refused = 0.0  # refusals, decaying with _REFUSALS_TAU_S
        self._refused_at = time.monotonic()

    @property
    def admitted(self) -> int:
        """Checks running or waiting now."""
        return self._admitted

    def retry_after_s(self) -> int:
        """Whole seconds until what is admitted and what was refused lately should have been checked (1 to 60)."""
        backlog = self._admitted + self._refusals(time.monotonic())
        return min(60, max(1, math.ceil(backlog * self._mean_s / self.slots)))

    def _refusals(self, now: float) -> float:
        return self._refused * math.exp(-(now - self._refused_at) / _REFUSALS_TAU_S)

    async def run(self, check: Callable[[], _T]) -> _T:
        """Run ``check`` in a slot of the gate's pool, waiting for one if the queue has room.

        Args:
            check: The blocking work (a password check and the read before it).

        Returns:
            What ``check`` returned.

        Raises:
            BusyError: ``slots + queue`` checks are admitted already, or this one would wait longer than
                ``max_wait_s``; nothing was run.
        """
        expected_wait_s = max(0, self._admitted + 1 - self.slots) * self._mean_s / self.slots
        if self._admitted >= self.slots + self.queue or expected_wait_s > self.max_wait_s:
            now = time.monotonic()
            self._refused, self._refused_at = self._refusals(now) + 1, now
            raise BusyError("the server is busy with logins; try again shortly", retry_after_s=self.retry_after_s())
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns[0] is not loop:  # one per event loop (a test client makes several)
            self._turns = (loop, asyncio.Semaphore(self.slots))
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="custos-password")
        self._admitted += 1
        try:
            async with self._turns[1]:
                began = time.monotonic()
                # the pool's size bounds the checks running even when a cancelled request frees its turn early
                result = await loop.run_in_executor(self._pool, check)
                self._mean_s += _ALPHA * (time.monotonic() - began - self._mean_s)
                return result
        finally:
            self._admitted -= 1

    def close(self) -> None:
        """Stop the pool's threads once the checks running have ended (a later check starts a new pool)."""
        pool, self._pool, self._turns = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
