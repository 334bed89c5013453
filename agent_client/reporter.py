"""The display-event queue: numbering, batching and retry bookkeeping; no IO, no Qt.

Events are kept in process memory only: an event not yet acknowledged by the
server is lost if the client exits. :class:`agent_client.service.AgentService`
drives the queue and does the uploads.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from shared.limits import LIMITS
from shared.protocol import BlockedAction, DisplayEvent, DisplayEventKind

__all__ = ["EventQueue"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class EventQueue:
    """Display events waiting for upload, numbered per login session.

    Args:
        batch_size: Most events handed out per batch.
        clock: Returns the current aware time (injected for tests).
    """

    def __init__(self, *, batch_size: int = LIMITS.max_event_batch, clock: Callable[[], datetime] = _utcnow) -> None:
        self._batch_size = batch_size
        self._clock = clock
        self._pending: deque[DisplayEvent] = deque()
        self._in_flight: tuple[DisplayEvent, ...] = ()
        self._next_seq = 0
        self.failures = 0

    def __len__(self) -> int:
        return len(self._pending) + len(self._in_flight)

    @property
    def in_flight(self) -> bool:
        """Whether a batch is out for upload."""
        return bool(self._in_flight)

    def new_session(self) -> None:
        """Restart numbering for a new login session."""
        self._next_seq = 0

    def add(
        self,
        kind: DisplayEventKind,
        lease_id: str,
        *,
        duration_ms: int | None = None,
        detail: BlockedAction | None = None,
    ) -> DisplayEvent:
        """Create, number and queue an event.

        Args:
            kind: What happened.
            lease_id: The lease of the record on screen.
            duration_ms: How long the record was shown (``record_hidden``).
            detail: The refused action (``action_blocked`` only).

        Returns:
            The queued event.
        """
        event = DisplayEvent(
            event_id=uuid.uuid4().hex,
            kind=kind,
            lease_id=lease_id,
            occurred_at=self._clock(),
            session_seq=self._next_seq,
            duration_ms=duration_ms,
            detail=detail,
        )
        self._next_seq += 1
        self._pending.append(event)
        return event

    def take_batch(self) -> tuple[DisplayEvent, ...]:
        """Hand out the next batch, or ``()`` if one is already out or nothing waits."""
        if self._in_flight or not self._pending:
            return ()
        count = min(self._batch_size, len(self._pending))
        self._in_flight = tuple(self._pending.popleft() for _ in range(count))
        return self._in_flight

    def acknowledge(self) -> int:
        """The batch out was stored; drop it. Returns how many events it held."""
        count = len(self._in_flight)
        self._in_flight = ()
        self.failures = 0
        return count

    def reject(self) -> None:
        """The batch out failed; put it back in front, in order, to retry as is."""
        self._pending.extendleft(reversed(self._in_flight))
        self._in_flight = ()
        self.failures += 1
