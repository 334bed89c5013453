"""One line for every failure a command did not foresee: a path, the database, the disk.

``custos-server`` promises one clear line and exit status 2, never a traceback
(set ``CUSTOS_DEBUG=1`` to see one). The sentences name paths and error kinds,
never values from the data, and never a database password.
"""

from __future__ import annotations

import errno
import re

from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

__all__ = ["describe"]

_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def describe(exc: BaseException) -> tuple[str, str]:
    """The error code and one-line message for an unforeseen exception.

    Args:
        exc: What a command raised.

    Returns:
        ``(code, message)``: ``code`` is ``"file_error"``, ``"disk_full"``,
        ``"permission_denied"``, ``"database_unavailable"``, ``"database_url"`` or
        ``"internal_error"``; ``message`` a sentence without a traceback.
    """
    if isinstance(exc, OSError):
        return _os_error(exc)
    if isinstance(exc, (ArgumentError, NoSuchModuleError)):
        return "database_url", "The database URL is not valid (postgresql://user@host/db, or none for SQLite)."
    if isinstance(exc, DBAPIError):
        return "database_unavailable", "Cannot use the database: " + _first_line(str(exc.orig)) + "."
    if isinstance(exc, SQLAlchemyError):
        return "database_unavailable", "Cannot use the database: " + _first_line(str(exc)) + "."
    return "internal_error", f"Unexpected {type(exc).__name__}; CUSTOS_DEBUG=1 shows its traceback."


def _os_error(exc: OSError) -> tuple[str, str]:
    where = f": {exc.filename}" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk_full", f"The disk is full{where}; free some space and run the command again."
    if isinstance(exc, PermissionError):
        return "permission_denied", f"Permission denied{where}."
    if isinstance(exc, NotADirectoryError):
        return "file_error", f"Not a directory{where}."
    if isinstance(exc, IsADirectoryError):
        return "file_error", f"Is a directory, not a file{where}."
    if isinstance(exc, FileNotFoundError):
        return "file_error", f"No such file or directory{where}."
    return "file_error", f"{exc.strerror or type(exc).__name__}{where}."


def _first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "no reason given")
    return _URL_PASSWORD.sub(r"\1***@", line).rstrip(".")
