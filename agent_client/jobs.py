"""API calls on a worker thread, their answers handed back on the GUI thread; no persistence here."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from agent_client.errors import ClientError

__all__ = ["JobRunner"]

log = logging.getLogger(__name__)


class _JobSignals(QObject):
    finished = Signal(object)


class _Job(QRunnable):
    """Calls ``call`` on a worker thread and posts the continuation back."""

    def __init__(
        self,
        call: Callable[[], Any],
        on_success: Callable[[Any], None],
        on_error: Callable[[ClientError], None],
        signals: _JobSignals,
    ) -> None:
        super().__init__()
        self._call = call
        self._on_success = on_success
        self._on_error = on_error
        self._signals = signals

    def run(self) -> None:
        """Run the call; never raises."""
        continuation: Callable[[], None]
        try:
            value = self._call()
        except ClientError as exc:
            continuation = functools.partial(self._on_error, exc)
        except Exception as exc:  # noqa: BLE001 - a worker must always report back
            log.error("unexpected %s in a worker", type(exc).__name__)
            continuation = functools.partial(self._on_error, ClientError("unexpected error"))
        else:
            continuation = functools.partial(self._on_success, value)
        self._signals.finished.emit(continuation)


class JobRunner(QObject):
    """Runs calls on a thread pool; their continuations run on the thread that owns the runner.

    Args:
        pool: The pool; a private one-thread pool if omitted (calls then run one at a time, in order).
        parent: Qt parent.
    """

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if pool is None:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(1)
        self._pool = pool
        self._jobs: set[_JobSignals] = set()
        self.closed = False

    def submit(
        self, call: Callable[[], Any], on_success: Callable[[Any], None], on_error: Callable[[ClientError], None]
    ) -> None:
        """Run ``call`` off this thread; then ``on_success(value)`` or ``on_error(exc)`` here."""
        signals = _JobSignals()
        signals.finished.connect(self._on_job_finished)
        self._jobs.add(signals)

        def success(value: Any) -> None:
            self._jobs.discard(signals)
            on_success(value)

        def error(exc: ClientError) -> None:
            self._jobs.discard(signals)
            on_error(exc)

        self._pool.start(_Job(call, success, error, signals))

    def close(self, timeout_ms: int) -> None:
        """Wait for running calls; answers still queued afterwards are dropped."""
        self._pool.waitForDone(timeout_ms)
        self.closed = True

    @Slot(object)
    def _on_job_finished(self, continuation: Callable[[], None]) -> None:
        if not self.closed:
            continuation()
