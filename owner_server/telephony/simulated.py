"""A simulated telephony for the demo: realistic call states with delays, and no PBX.

The agent's phone "rings" about a second, the customer's two to four
seconds; most customers answer, some are busy, some never pick up. An
answered call lasts until the agent hangs up (or the customer does after a
minute or two). The number is only checked to exist: nothing dials it.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from dataclasses import dataclass, field

from owner_server.telephony.causes import NORMAL_CLEARING
from owner_server.telephony.provider import CallSpec, CallUpdate, Sink
from owner_server.telephony.settings import SimulatedSettings
from shared.calls import CallResult, CallState
from shared.errors import ValidationError

__all__ = ["SimulatedProvider"]

_BUSY, _NO_ANSWER = 17, 19


@dataclass(order=True)
class _Step:
    due: float
    seq: int
    call_id: str = field(compare=False)
    state: CallState = field(compare=False)
    result: CallResult | None = field(default=None, compare=False)
    cause: int | None = field(default=None, compare=False)


class SimulatedProvider:
    """Plays calls from a schedule on one worker thread.

    Args:
        settings: Ring times and how often customers answer.
    """

    name = "simulated"

    def __init__(self, settings: SimulatedSettings) -> None:
        self._settings = settings
        self._random = random.Random(settings.seed)  # noqa: S311 - demo call outcomes, not secrets
        self._queue: list[_Step] = []
        self._answered: set[str] = set()
        self._live: set[str] = set()
        self._seq = 0
        self._cond = threading.Condition()
        self._sink: Sink | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    def start(self, sink: Sink) -> None:
        """Start the worker thread that reports call steps to ``sink`` (idempotent)."""
        with self._cond:
            self._sink = sink
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(target=self._run, daemon=True, name="telephony-simulated")
                self._thread.start()

    def stop(self) -> None:
        """Stop the worker; calls in flight get no more steps."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)

    def originate(self, spec: CallSpec) -> None:
        """Schedule a call's steps.

        Raises:
            ValidationError: The contact has no number to call.
        """
        if not spec.number():
            raise ValidationError("the record has no number to call")
        s, rnd = self._settings, self._random
        with self._cond:
            self._live.add(spec.call_id)
            t = time.monotonic()
            self._push(t + 0.2, spec.call_id, CallState.AGENT_RINGING)
            t += 0.2 + s.agent_ring_s
            self._push(t, spec.call_id, CallState.CUSTOMER_RINGING)
            t += rnd.uniform(s.customer_ring_min_s, s.customer_ring_max_s)
            draw = rnd.random()
            if draw < s.answer_rate:
                self._push(t, spec.call_id, CallState.ANSWERED)
                talk = rnd.uniform(60, 120)
                self._push(t + talk, spec.call_id, CallState.ENDED, CallResult.COMPLETED, NORMAL_CLEARING)
            elif draw < s.answer_rate + s.busy_rate:
                self._push(t, spec.call_id, CallState.ENDED, CallResult.BUSY, _BUSY)
            else:
                wait = max(float(spec.customer_ring_timeout_s) - (t - time.monotonic()), 0.0)
                self._push(t + min(wait, 4.0), spec.call_id, CallState.ENDED, CallResult.NO_ANSWER, _NO_ANSWER)

    def hangup(self, *, call_id: str) -> None:
        """End a call now: completed when the customer had answered, else cancelled."""
        with self._cond:
            if call_id not in self._live:
                return
            self._queue = [step for step in self._queue if step.call_id != call_id]
            heapq.heapify(self._queue)
            result = CallResult.COMPLETED if call_id in self._answered else CallResult.CANCELLED
            self._push(time.monotonic(), call_id, CallState.ENDED, result, NORMAL_CLEARING)

    def _push(
        self, due: float, call_id: str, state: CallState, result: CallResult | None = None, cause: int | None = None
    ) -> None:
        self._seq += 1
        heapq.heappush(self._queue, _Step(due, self._seq, call_id, state, result, cause))
        self._cond.notify_all()

    def _next_due(self) -> _Step | None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                if self._queue and self._queue[0].due <= now:
                    step = heapq.heappop(self._queue)
                    if step.state is CallState.ANSWERED:
                        self._answered.add(step.call_id)
                    if step.state is CallState.ENDED:
                        self._live.discard(step.call_id)
                        self._answered.discard(step.call_id)
                    return step
                self._cond.wait(timeout=(self._queue[0].due - now) if self._queue else None)
            return None

    def _run(self) -> None:
        while (step := self._next_due()) is not None:
            sink = self._sink
            if sink is not None:
                sink(CallUpdate(call_id=step.call_id, state=step.state, result=step.result, cause=step.cause))
