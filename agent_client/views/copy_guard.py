"""Consumes copy, cut, print, save and select-all attempts and wipes the clipboard."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QClipboard, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QWidget

from shared.protocol import BlockedAction

__all__ = ["CopyGuard"]

_BLOCKED = (
    (QKeySequence.StandardKey.Copy, BlockedAction.COPY),
    (QKeySequence.StandardKey.Cut, BlockedAction.CUT),
    (QKeySequence.StandardKey.Print, BlockedAction.PRINT),
    (QKeySequence.StandardKey.Save, BlockedAction.SAVE),
    (QKeySequence.StandardKey.SaveAs, BlockedAction.SAVE),
    (QKeySequence.StandardKey.SelectAll, BlockedAction.SELECT_ALL),
)


class CopyGuard(QObject):
    """An event filter guarding a widget and every descendant it gains.

    Blocked key sequences and the Print Screen key are consumed, context menus
    are suppressed, and the clipboard (and X11 selection) is cleared.

    Args:
        clipboard: The application clipboard to wipe.
        parent: Qt parent.

    Signals:
        attempt_blocked(str): A blocked action was attempted: a
            :class:`shared.protocol.BlockedAction` value (``copy``, ``capture``...),
            once per key press (auto-repeats of a held key are consumed silently).
    """

    attempt_blocked = Signal(str)

    def __init__(self, clipboard: QClipboard, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clipboard = clipboard

    def guard(self, widget: QWidget) -> None:
        """Watch ``widget`` and all its current and future descendants."""
        widget.installEventFilter(self)
        for child in widget.findChildren(QWidget):
            child.installEventFilter(self)

    def wipe_clipboard(self) -> None:
        """Clear the clipboard and, where it exists, the selection buffer."""
        self._clipboard.clear(QClipboard.Mode.Clipboard)
        if self._clipboard.supportsSelection():
            self._clipboard.clear(QClipboard.Mode.Selection)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Consume blocked actions; follow new children."""
        kind = event.type()
        if kind == QEvent.Type.ChildAdded:
            child = event.child()  # type: ignore[attr-defined]
            if isinstance(child, QWidget):
                self.guard(child)
            return False
        if kind == QEvent.Type.ContextMenu:
            return True
        if kind in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride) and isinstance(event, QKeyEvent):
            action = self._blocked_action(event)
            if action is not None:
                event.accept()
                self.wipe_clipboard()
                if kind == QEvent.Type.KeyPress and not event.isAutoRepeat():
                    self.attempt_blocked.emit(action)
                return True
        return False

    @staticmethod
    def _blocked_action(event: QKeyEvent) -> BlockedAction | None:
        if event.key() in (Qt.Key.Key_Print, Qt.Key.Key_SysReq):
            return BlockedAction.CAPTURE
        for sequence, action in _BLOCKED:
            if event.matches(sequence):
                return action
        return None
