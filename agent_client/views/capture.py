"""Screen-capture exclusion where the operating system offers it."""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtWidgets import QWidget

__all__ = ["exclude_from_capture"]

log = logging.getLogger(__name__)

_WDA_EXCLUDEFROMCAPTURE = 0x11


def exclude_from_capture(window: QWidget) -> bool:
    """Ask the OS to leave ``window`` out of screenshots and recordings.

    Windows 10 2004+ honours ``WDA_EXCLUDEFROMCAPTURE``; other systems offer no
    such control, and the watermark and volume limits remain the defence.

    Returns:
        Whether the OS accepted the request.
    """
    if sys.platform != "win32":
        return False
    user32 = ctypes.windll.user32  # type: ignore[attr-defined,unused-ignore]
    accepted = bool(user32.SetWindowDisplayAffinity(int(window.winId()), _WDA_EXCLUDEFROMCAPTURE))
    if not accepted:
        log.warning("the OS refused capture exclusion")
    return accepted
