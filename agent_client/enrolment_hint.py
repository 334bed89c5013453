"""A non-secret hint of which login this computer is enrolled for, to pick the first window fast.

The device identity lives in the OS keyring, and opening the keyring costs
about a third of the client's start (the keyring package and its D-Bus or
Windows credential backend). The first window only needs to know *whether*
the computer is enrolled and for which agent login, so the credential store
leaves that in a small file beside the deployment copy
(``<user config dir>/enrolled-<hash of the server URL>``: the login only, never
a key). The keyring stays the truth: :meth:`AppController.start` reads it once
the window is up and corrects the window if the hint was wrong (a wiped
keyring, an enrolment from before hints existed, which the next start then
writes).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from agent_client.atomic_file import write_atomically
from agent_client.config import user_config_dir

__all__ = ["enrolled_login", "forget_hint", "write_hint"]

log = logging.getLogger(__name__)
_MAX_LOGIN = 128


def _path(server_url: str, directory: Path | None) -> Path:
    digest = hashlib.sha256(server_url.encode("utf-8")).hexdigest()[:16]
    return (directory or user_config_dir()) / f"enrolled-{digest}"


def enrolled_login(server_url: str, directory: Path | None = None) -> str | None:
    """The login the hint names for this server, or None (no hint, unreadable, or malformed)."""
    try:
        text = _path(server_url, directory).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if 0 < len(text) <= _MAX_LOGIN and text.isprintable() else None


def write_hint(server_url: str, login: str, directory: Path | None = None) -> None:
    """Record (atomically) that this computer is enrolled for ``login``; failures are only logged."""
    target = _path(server_url, directory)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, (login[:_MAX_LOGIN] + "\n").encode("utf-8"))
    except OSError as exc:
        log.info("enrolment hint not written: %s", type(exc).__name__)


def forget_hint(server_url: str, directory: Path | None = None) -> None:
    """Remove the hint (the identity was deleted)."""
    try:
        _path(server_url, directory).unlink(missing_ok=True)
    except OSError as exc:
        log.info("enrolment hint not removed: %s", type(exc).__name__)
