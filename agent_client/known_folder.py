"""The Windows ProgramData folder, asked of the shell rather than the environment.

``%PROGRAMDATA%`` is an environment variable a standard user can set for
their own processes; read from there, the "machine-wide" config IT
provisions could be swapped for the user's own. The shell's known-folder API
(``SHGetKnownFolderPath`` with ``FOLDERID_ProgramData``, Microsoft Learn:
shlobj_core.h, knownfolders.h) answers from the system's registration instead.
"""

from __future__ import annotations

import ctypes
import logging
import uuid
from typing import Any, Protocol

__all__ = ["FOLDERID_PROGRAM_DATA", "PROGRAM_DATA_FALLBACK", "Ole32", "Shell32", "program_data_dir", "windows_apis"]

log = logging.getLogger(__name__)

#: ``FOLDERID_ProgramData`` (knownfolders.h).
FOLDERID_PROGRAM_DATA = uuid.UUID("{62AB5D82-FDC1-4DC3-A9DD-070D1D495D97}")
#: Used when the shell cannot answer; never the environment.
PROGRAM_DATA_FALLBACK = r"C:\ProgramData"


class _GUID(ctypes.Structure):
    # Win32 GUID: DWORD, WORD, WORD, BYTE[8]; its memory layout is uuid's bytes_le.
    _fields_ = [
        ("Data1", ctypes.c_uint32),
        ("Data2", ctypes.c_uint16),
        ("Data3", ctypes.c_uint16),
        ("Data4", ctypes.c_ubyte * 8),
    ]


class Shell32(Protocol):
    """The part of ``shell32.dll`` used here."""

    def SHGetKnownFolderPath(self, rfid: Any, dwFlags: int, hToken: Any, ppszPath: Any) -> int:  # noqa: N802, N803
        """``HRESULT(REFKNOWNFOLDERID, DWORD, HANDLE, PWSTR*)``; 0 (S_OK) on success, the path in ``*ppszPath``."""
        ...


class Ole32(Protocol):
    """The part of ``ole32.dll`` used here."""

    def CoTaskMemFree(self, pv: Any) -> None:  # noqa: N802
        """Free the string ``SHGetKnownFolderPath`` allocated (also on failure)."""
        ...


def windows_apis() -> tuple[Shell32, Ole32] | None:
    """Load ``shell32`` and ``ole32`` (None where they do not exist, i.e. not Windows)."""
    try:
        win_dll: Any = ctypes.WinDLL  # type: ignore[attr-defined,unused-ignore]  # Windows only
        return win_dll("shell32"), win_dll("ole32")
    except (AttributeError, OSError):
        return None


def program_data_dir() -> str:
    r"""Return the ProgramData folder from ``SHGetKnownFolderPath`` (the fallback constant if that fails).

    Returns:
        The folder, e.g. ``C:\ProgramData``; :data:`PROGRAM_DATA_FALLBACK` when the
        shell is unavailable or answers with an error or an empty path.
    """
    apis = windows_apis()
    if apis is None:
        return PROGRAM_DATA_FALLBACK
    shell32, ole32 = apis
    guid = _GUID.from_buffer_copy(FOLDERID_PROGRAM_DATA.bytes_le)
    path = ctypes.c_wchar_p()
    try:
        result = shell32.SHGetKnownFolderPath(ctypes.byref(guid), 0, None, ctypes.pointer(path))
        folder = path.value or ""
    except OSError:
        result, folder = -1, ""
    finally:
        ole32.CoTaskMemFree(path)
    if result != 0 or not folder:
        log.warning("the shell did not name the ProgramData folder; using %s", PROGRAM_DATA_FALLBACK)
        return PROGRAM_DATA_FALLBACK
    return folder
