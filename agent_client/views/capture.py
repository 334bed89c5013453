"""Screen-capture exclusion for every top-level window and dialog, where the operating system offers it.

Windows 10 2004+ leaves a window out of screenshots, recordings and screen
sharing once ``SetWindowDisplayAffinity(hwnd, WDA_EXCLUDEFROMCAPTURE)``
succeeded for it (Microsoft Learn, "SetWindowDisplayAffinity function
(winuser.h)"). :class:`CaptureExclusion` is an application-wide event filter
that asks for it each time a top-level widget (the record window, the login
and enrolment windows, the callback dialog, a message box, a popup) is shown
or gets a new native window. Other systems offer no such control; the
watermark and the volume limits remain the defence there.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QApplication, QWidget

__all__ = ["WDA_EXCLUDEFROMCAPTURE", "CaptureExclusion", "User32", "windows_user32"]

log = logging.getLogger(__name__)

#: ``dwAffinity``: the window is displayed only on a monitor, never in a capture (winuser.h).
WDA_EXCLUDEFROMCAPTURE = 0x11
_APPLIED = "custos_capture_hwnd"  # the native window the exclusion was asked for last


class User32(Protocol):
    """The part of ``user32.dll`` used here (the real one is ``ctypes.windll.user32``)."""

    def SetWindowDisplayAffinity(self, hwnd: int, affinity: int, /) -> int:  # noqa: N802 - the Win32 name
        """Set the display affinity of a window (Win32 ``BOOL(HWND, DWORD)``); nonzero on success."""
        ...


def windows_user32() -> User32 | None:
    """``user32.dll`` with the argument types declared, on Windows; None elsewhere."""
    if sys.platform != "win32":
        return None
    from ctypes import wintypes  # noqa: PLC0415 - Windows only

    user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    user32.SetWindowDisplayAffinity.argtypes = (wintypes.HWND, wintypes.DWORD)
    user32.SetWindowDisplayAffinity.restype = wintypes.BOOL
    return user32  # type: ignore[no-any-return,unused-ignore]


class CaptureExclusion(QObject):
    """Asks the OS to exclude each top-level window from capture, once per native window.

    Args:
        user32: The Win32 edge; nothing is done when None (not Windows).
        parent: Qt parent.

    Signals:
        refused(str): The OS refused for a window (its class name, e.g. ``CallbackDialog``).
    """

    refused = Signal(str)

    def __init__(self, user32: User32 | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._user32 = user32

    def install(self, app: QApplication) -> None:
        """Filter ``app``'s events from now on and cover the top-level windows already shown."""
        if self._user32 is None:
            return
        app.installEventFilter(self)
        for widget in app.topLevelWidgets():
            if widget.isVisible():
                self._exclude(widget)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """On Show or WinIdChange of a top-level widget, exclude its native window; never consumes the event."""
        if (
            event.type() in (QEvent.Type.Show, QEvent.Type.WinIdChange)
            and isinstance(watched, QWidget)
            and watched.isWindow()
        ):
            self._exclude(watched)
        return False

    def _exclude(self, widget: QWidget) -> None:
        assert self._user32 is not None  # noqa: S101 - only installed with one
        hwnd = int(widget.winId())
        if not hwnd or widget.property(_APPLIED) == hwnd:
            return
        widget.setProperty(_APPLIED, hwnd)
        if not self._user32.SetWindowDisplayAffinity(hwnd, WDA_EXCLUDEFROMCAPTURE):
            name = type(widget).__name__[:48]
            log.warning("the OS refused capture exclusion for a %s window", name)
            self.refused.emit(name)
