"""A visible watermark over a widget: agent login, lease and time tiled, and the server's signed QR in a corner.

A photographed or captured screen then points at one agent and one
issuance: the tiled text names the lease a person can read, the QR carries
the server-signed token (agent, lease, issue time) that ``custos-server
watermark decode`` verifies. The QR is drawn opaque (near-black modules on a
light quiet zone, :data:`MODULE_PX` pixels a module) so that it still decodes
from a phone photo, a screenshot scaled to half, rotated, or JPEG-compressed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from agent_client.views.qr_image import qr_image
from shared.b64 import b64decode_strict
from shared.errors import ValidationError

__all__ = ["CODE_MARGIN", "MODULE_PX", "WatermarkOverlay"]

_REFRESH_MS = 30_000
_GAP_X = 70
_STEP_Y = 90
MODULE_PX = 4
"""Screen pixels per QR module (4: a 41-module token is 196 px with its quiet zone)."""
CODE_MARGIN = 6
"""Space between the QR and the edges of the covered widget."""


class WatermarkOverlay(QWidget):
    """A transparent, click-through layer covering its parent, tiled with a text, with the issuance's QR.

    Args:
        parent: The widget to cover.
        agent_login: Login shown in the mark.
        clock: Returns the local time shown in the mark (injected for tests).
        show_code: Draw the QR of the issuance (the record area); False for dialogs,
            whose text still names the lease.
    """

    def __init__(
        self,
        parent: QWidget,
        agent_login: str,
        clock: Callable[[], datetime] = datetime.now,
        *,
        show_code: bool = True,
    ) -> None:
        super().__init__(parent)
        self._agent_login = agent_login
        self._clock = clock
        self._show_code = show_code
        self._lease_ref: str | None = None
        self._code: QImage | None = None
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

    def detach(self) -> None:
        """Stop following the parent and delete this overlay (the parent stays).

        The filter goes first: a parent that lost a child tells its filters, and this
        one must not be asked while it is being destroyed.
        """
        parent = self.parentWidget()
        if parent is not None:
            parent.removeEventFilter(self)
        self._timer.stop()
        self.hide()
        self.deleteLater()

    def set_issue(self, lease_ref: str | None, code: str | None) -> None:
        """Name the lease on screen in the text and draw its signed code (None, None: no record).

        Args:
            lease_ref: The lease id shown in the tiled text.
            code: The server's signed token as the wire carries it (base64), drawn as the QR
                unless ``show_code`` is off; None or undecodable: no QR (a record is never refused for its mark).
        """
        self._lease_ref = lease_ref
        self._code = None
        if code and self._show_code:
            try:
                self._code = qr_image(b64decode_strict(code))
            except (ValidationError, ValueError):  # ValueError: segno.DataOverflowError
                self._code = None
        self.update()

    @property
    def lease_ref(self) -> str | None:
        """The lease named in the text, if any."""
        return self._lease_ref

    def code_side(self) -> int:
        """The QR's side in pixels with its quiet zone (0 when no QR is drawn)."""
        return self._code.width() * MODULE_PX if self._code is not None else 0

    def code_rect(self) -> QRect | None:
        """Where the QR is drawn (top-right corner), or None when there is none."""
        side = self.code_side()
        if not side:
            return None
        return QRect(self.width() - side - CODE_MARGIN, CODE_MARGIN, side, side)

    def text(self) -> str:
        """The text currently tiled over the area: login, the lease if one is shown, local time."""
        parts = [self._agent_login, self._lease_ref, f"{self._clock():%Y-%m-%d %H:%M}"]
        return " · ".join(part for part in parts if part)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Follow the parent's size and stay on top of new children."""
        parent = self.parentWidget()
        if parent is not None and watched is parent and event.type() in (QEvent.Type.Resize, QEvent.Type.ChildAdded):
            self.setGeometry(parent.rect())
            self.raise_()
        return False

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Tile the text diagonally, translucent; then the QR, opaque and unscaled by smoothing."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QColor(120, 120, 120, 70))
        font = QFont(self.font())
        font.setPointSize(max(font.pointSize(), 11))
        painter.setFont(font)
        text = self.text()
        step_x = QFontMetrics(font).horizontalAdvance(text) + _GAP_X
        painter.save()
        painter.translate(self.width() / 2, self.height() / 2)
        painter.rotate(-25)
        span = max(self.width(), self.height())
        for y in range(-span, span, _STEP_Y):
            offset = (y // _STEP_Y % 2) * (step_x // 2)
            for x in range(-span - step_x, span, step_x):
                painter.drawText(x + offset, y, text)
        painter.restore()
        rect = self.code_rect()
        if self._code is not None and rect is not None:
            painter.drawImage(rect, self._code)  # SmoothPixmapTransform is off: whole pixels per module
        painter.end()
