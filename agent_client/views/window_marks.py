"""The watermark on every top-level window and dialog the client shows while an agent is logged in.

An application-wide event filter sees each widget's ``Show``; a top-level
window or dialog (message boxes, the callback dialog, any later one) that
has no watermark yet gets a :class:`~agent_client.views.watermark.WatermarkOverlay`
naming the agent, the lease on screen (if any) and the time. The record
window brings its own overlay over the record area (with the QR) and is
left alone. Menus, tooltips and other popups are not windows the agent
reads a record in, and are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QWidget

from agent_client.views.watermark import WatermarkOverlay

__all__ = ["WindowWatermarks"]

_WINDOW_TYPES = frozenset({Qt.WindowType.Window, Qt.WindowType.Dialog, Qt.WindowType.Sheet})


class WindowWatermarks(QObject):
    """Watermarks each top-level window and dialog as it is shown, from :meth:`install` to :meth:`uninstall`.

    Args:
        agent_login: The logged-in agent, named in every mark.
        lease_ref: Returns the lease on screen now, or None (asked each time a window is shown).
        clock: Local time for the marks (injected for tests).
        parent: Qt parent.
    """

    def __init__(
        self,
        agent_login: str,
        lease_ref: Callable[[], str | None],
        *,
        clock: Callable[[], datetime] = datetime.now,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._agent_login = agent_login
        self._lease_ref = lease_ref
        self._clock = clock
        self._app: QCoreApplication | None = None
        self._overlays: list[WatermarkOverlay] = []

    def install(self, app: QCoreApplication) -> None:
        """Start watching ``app``'s widgets (windows already on screen are marked when shown again)."""
        if self._app is None:
            self._app = app
            app.installEventFilter(self)

    def uninstall(self) -> None:
        """Stop watching and take off the marks this object put on (the session ended)."""
        if self._app is not None:
            self._app.removeEventFilter(self)
            self._app = None
        for overlay in self._overlays:
            if shiboken6.isValid(overlay):
                overlay.detach()
        self._overlays = []

    def overlay_of(self, window: QWidget) -> WatermarkOverlay | None:
        """The watermark this object put on ``window``, if any."""
        for overlay in self._alive():
            if overlay.parentWidget() is window:
                return overlay
        return None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Mark a top-level window or dialog when it is shown; never consume the event."""
        if (
            event.type() == QEvent.Type.Show
            and isinstance(watched, QWidget)
            and watched.isWindow()
            and watched.windowType() in _WINDOW_TYPES
        ):
            self._mark(watched)
        return False

    def _alive(self) -> list[WatermarkOverlay]:
        self._overlays = [o for o in self._overlays if shiboken6.isValid(o)]
        return self._overlays

    def _mark(self, window: QWidget) -> None:
        overlay = self.overlay_of(window)
        if overlay is None:
            if window.findChildren(WatermarkOverlay):  # the record window marks its record area itself
                return
            overlay = WatermarkOverlay(window, self._agent_login, self._clock, show_code=False)
            self._overlays.append(overlay)
        overlay.set_issue(self._lease_ref(), None)
        overlay.setGeometry(window.rect())
        overlay.show()
        overlay.raise_()
