"""The idle lock's clock: no keyboard or mouse input for a while, then a warning, then the lock.

:class:`IdleWatch` is an application-wide event filter that notes the time
of every key, mouse button, wheel, mouse move and touch the application
receives, and a timer that checks how long ago the last one was. The
controller hides the record and ends the session on ``expired``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal

__all__ = ["WARNING_S", "IdleWatch"]

#: How long before the lock the agent is warned, in seconds.
WARNING_S = 30
_INPUT = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
    }
)


class IdleWatch(QObject):
    """Tells when the application had no input for ``timeout_s`` seconds.

    Args:
        timeout_s: Seconds without input before ``expired`` (at least 1).
        warning_s: ``warning`` comes this many seconds before (less when the timeout is shorter).
        clock: Monotonic seconds (injected for tests).
        parent: Qt parent.

    Signals:
        warning(int): Whole seconds left before the lock.
        resumed(): Input came after a warning: the lock is off again.
        expired(): No input for ``timeout_s``; the watch stops until started again.
    """

    warning = Signal(int)
    resumed = Signal()
    expired = Signal()

    def __init__(
        self,
        timeout_s: float,
        *,
        warning_s: float = WARNING_S,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._timeout = max(timeout_s, 1.0)
        self._warn_at = max(self._timeout - warning_s, self._timeout / 2)
        self._clock = clock
        self._last_input = clock()
        self._warned = False
        self._running = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.CoarseTimer)
        self._timer.timeout.connect(self.check)

    @property
    def running(self) -> bool:
        """Whether the watch counts (between :meth:`start` and :meth:`stop` or ``expired``)."""
        return self._running

    def start(self) -> None:
        """Watch the application's input from now on, counting from now."""
        app = QCoreApplication.instance()
        if app is not None and not self._running:
            app.installEventFilter(self)
        self._running = True
        self._last_input = self._clock()
        self._warned = False
        self._schedule(self._warn_at)

    def stop(self) -> None:
        """Stop watching (the session ended)."""
        self._running = False
        self._timer.stop()
        app = QCoreApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Note the time of an input event; never consumes it."""
        if event.type() in _INPUT:
            self._last_input = self._clock()
            if self._warned:
                self._warned = False
                self._schedule(self._warn_at)
                self.resumed.emit()
        return False

    def check(self) -> None:
        """Warn, lock or wait on (the timer calls it; tests with a fake clock may too)."""
        if not self._running:
            return
        idle = self._clock() - self._last_input
        if idle >= self._timeout:
            self.stop()
            self.expired.emit()
        elif idle >= self._warn_at:
            if not self._warned:
                self._warned = True
                self.warning.emit(math.ceil(self._timeout - idle))
            self._schedule(self._timeout - idle)
        else:
            self._schedule(self._warn_at - idle)

    def _schedule(self, seconds: float) -> None:
        self._timer.start(max(math.ceil(seconds * 1000), 1))
