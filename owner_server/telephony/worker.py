"""A telephony daemon thread started and stopped on request (the ARI events listener, the orphan check)."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["WorkerThread"]


class WorkerThread:
    """Runs ``target`` on one daemon thread; :meth:`start` again after :meth:`stop` runs it anew.

    Args:
        target: The thread's loop; it returns soon after :attr:`stopping` is set.
        name: The thread's name.

    Attributes:
        stopping: Set by :meth:`stop`, cleared by :meth:`start`; the loop waits on it between rounds.
    """

    def __init__(self, target: Callable[[], None], *, name: str) -> None:
        self.stopping = threading.Event()
        self._target = target
        self._name = name
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (idempotent: nothing while it runs)."""
        if self._thread is None:
            self.stopping.clear()
            self._thread = threading.Thread(target=self._target, daemon=True, name=self._name)
            self._thread.start()

    def stop(self, *, wake: Callable[[], None] | None = None, timeout_s: float = 5.0) -> None:
        """Set :attr:`stopping`, call ``wake`` (to end a blocking wait of the loop), and join the thread.

        Args:
            wake: Called after :attr:`stopping` is set and before the join (e.g. close a socket the loop reads).
            timeout_s: Seconds the join waits at most (the thread is a daemon: it cannot hold the process).
        """
        self.stopping.set()
        if wake is not None:
            wake()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=timeout_s)
