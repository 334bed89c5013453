"""Runs blocking calls on a worker thread and hands the result back to the GUI thread; no IO here.

A call returns data and never touches widgets; its continuation (success or
error) runs on the thread of the :class:`JobRunner`'s owner (the GUI thread).
"""

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
    """Submits calls to a thread pool; continuations run on the runner's thread.

    Args:
        pool: The pool to run on; a private one-thread pool if None (calls then
            run one at a time, in order).
        parent: Qt parent.
    """

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if pool is None:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(1)
        self._pool = pool
        self._jobs: set[_JobSignals] = set()

    def submit(
        self, call: Callable[[], Any], on_success: Callable[[Any], None], on_error: Callable[[ClientError], None]
    ) -> None:
        """Run ``call`` on the pool; then ``on_success(value)`` or ``on_error(exc)`` here. Never raises."""
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

    def wait(self, timeout_ms: int) -> None:
        """Wait for running calls (at most ``timeout_ms``)."""
        self._pool.waitForDone(timeout_ms)

    @Slot(object)
    def _on_job_finished(self, continuation: Callable[[], None]) -> None:
        continuation()
