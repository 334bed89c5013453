"""Run the rest of the start once the first window is on screen.

``custos-agent`` shows its first window (login or enrolment) before it
builds the connection (httpx, the pinned TLS context, the keyring's outbox
key, the outbox): :func:`when_shown` calls back after that window's first
``QEvent.Expose`` with the window exposed (Qt paints it then), so the agent
sees the window while the rest loads. Qt docs: ``QWindow::isExposed``,
``QEvent::Expose``.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

__all__ = ["FALLBACK_MS", "when_shown"]

#: If the platform sends no expose event (a window shown minimised), the rest starts anyway after this.
FALLBACK_MS = 1000


class _OnExpose(QObject):
    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self._callback: Callable[[], None] | None = callback
        handle = widget.windowHandle()
        exposed = handle is None or handle.isExposed()
        if not exposed:
            handle.installEventFilter(self)
        QTimer.singleShot(0 if exposed else FALLBACK_MS, self._fire)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Expose and getattr(watched, "isExposed", lambda: False)():
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._fire)  # after Qt has painted the window
        return False

    def _fire(self) -> None:
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()


def when_shown(widget: QWidget | None, callback: Callable[[], None]) -> None:
    """Call ``callback`` once, on the event loop, after ``widget`` (shown) is first exposed.

    Args:
        widget: A shown top-level widget, or None to call back on the next event-loop turn.
        callback: What to run (the rest of the start).
    """
    if widget is None:
        QTimer.singleShot(0, callback)
        return
    _OnExpose(widget, callback)
