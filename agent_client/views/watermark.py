"""A visible watermark (agent login and time) drawn over the record area."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

__all__ = ["WatermarkOverlay"]

_REFRESH_MS = 30_000
_STEP_X = 260
_STEP_Y = 90


class WatermarkOverlay(QWidget):
    """A transparent, click-through layer covering its parent, tiled with a text.

    Args:
        parent: The widget to cover.
        agent_login: Login shown in the mark.
        clock: Returns the local time shown in the mark (injected for tests).
    """

    def __init__(self, parent: QWidget, agent_login: str, clock: Callable[[], datetime] = datetime.now) -> None:
        super().__init__(parent)
        self._agent_login = agent_login
        self._clock = clock
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName(self.tr("Watermark"))
        parent.installEventFilter(self)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.update)
        self._timer.start(_REFRESH_MS)
        self.setGeometry(parent.rect())
        self.raise_()

    def text(self) -> str:
        """The text currently tiled over the area."""
        return f"{self._agent_login} · {self._clock():%Y-%m-%d %H:%M}"

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Follow the parent's size and stay on top of new children."""
        parent = self.parentWidget()
        if parent is not None and watched is parent and event.type() in (QEvent.Type.Resize, QEvent.Type.ChildAdded):
            self.setGeometry(parent.rect())
            self.raise_()
        return False

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Tile the text diagonally, translucent."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QColor(120, 120, 120, 70))
        font = QFont(self.font())
        font.setPointSize(max(font.pointSize(), 11))
        painter.setFont(font)
        text = self.text()
        painter.translate(self.width() / 2, self.height() / 2)
        painter.rotate(-25)
        span = max(self.width(), self.height())
        for y in range(-span, span, _STEP_Y):
            offset = (y // _STEP_Y % 2) * (_STEP_X // 2)
            for x in range(-span, span, _STEP_X):
                painter.drawText(x + offset, y, text)
        painter.end()
