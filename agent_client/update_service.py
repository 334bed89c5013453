"""Checks for verified updates at start and daily, on a worker thread; the GUI only hears the result.

python-tuf (and the urllib3 it imports) is loaded on the worker at the first check,
not at start: it costs a start-up a few hundred milliseconds on a loaded machine.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from agent_client.config import TUF_ROOT_FILE_NAME, DeploymentConfig, system_config_dir
from agent_client.errors import ClientError
from agent_client.jobs import JobRunner

if TYPE_CHECKING:
    from agent_client.updates import UpdateChecker, UpdateOffer, UpdateOutcome

__all__ = [
    "CHECK_EVERY_MS",
    "UpdateCheckError",
    "UpdateNoticeView",
    "UpdateService",
    "make_update_service",
    "read_trusted_root",
    "update_cache_dir",
]

#: How often a running client checks again: daily.
CHECK_EVERY_MS = 24 * 60 * 60 * 1000

log = logging.getLogger(__name__)


class UpdateCheckError(ClientError):
    """An update check did not complete; ``refused`` when the repository's answer failed verification."""

    code = "update_check_failed"

    def __init__(self, message: str, *, refused: bool) -> None:
        super().__init__(message)
        self.refused = refused


class UpdateNoticeView(Protocol):
    """A window that can show the update notice (the record window)."""

    def show_update_notice(self, version: str, outcome: str) -> None:
        """Show that ``version`` is ready and what happens next (an :class:`UpdateOutcome` value)."""


_MAX_ROOT_BYTES = 512 * 1024


def update_cache_dir() -> Path:
    """The per-user cache of update metadata and downloads (not created; public signed data only)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "custos-agent" / "updates"


def read_trusted_root(directory: Path | None = None) -> bytes | None:
    """The provisioned TUF root (``tuf-root.json`` in :func:`system_config_dir`), or None when IT provisioned none.

    A file over 512 KiB (ngclient's own root limit) or one that cannot be read counts as none.
    """
    path = (directory or system_config_dir()) / TUF_ROOT_FILE_NAME
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_ROOT_BYTES + 1)
    except OSError:
        return None
    return data if len(data) <= _MAX_ROOT_BYTES else None


def _checked(checker: UpdateChecker) -> tuple[UpdateOffer, UpdateOutcome] | None:
    """Run one check on the worker; ngclient's errors become one :class:`UpdateCheckError` (its class name only)."""
    from tuf.api import exceptions as tuf_errors  # noqa: PLC0415 - loaded on the worker, not at start

    try:
        return checker.check()
    except tuf_errors.RepositoryError as exc:
        raise UpdateCheckError(f"update refused: {type(exc).__name__}", refused=True) from exc
    except (tuf_errors.DownloadError, OSError) as exc:
        raise UpdateCheckError(f"update check failed: {type(exc).__name__}", refused=False) from exc


class UpdateService(QObject):
    """Runs :class:`UpdateChecker` now and every :data:`CHECK_EVERY_MS`, never on the GUI thread.

    Args:
        make_checker: Builds the checker, on the worker at the first check (None when IT provisioned
            no TUF root or ``update_check`` is off: the service then does nothing).
        runner: Runs the check off the GUI thread (a private one-thread runner if omitted).
        interval_ms: Time between checks.
        parent: Qt parent.

    Signals:
        update_found(str, str): A newer verified release: its version and an :class:`UpdateOutcome` value.
        check_failed(str, bool): A check did not complete: a short reason and whether it was refused.
    """

    update_found = Signal(str, str)
    check_failed = Signal(str, bool)

    def __init__(
        self,
        make_checker: Callable[[], UpdateChecker] | None,
        runner: JobRunner | None = None,
        *,
        interval_ms: int = CHECK_EVERY_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._make_checker = make_checker
        self._checker: UpdateChecker | None = None  # set on the worker; read here only after the runner is done
        self._runner = runner or JobRunner(parent=self)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check_now)
        self._busy = False
        self.offer: UpdateOffer | None = None
        self._outcome: UpdateOutcome | None = None

    @property
    def enabled(self) -> bool:
        """Whether this service checks at all (a provisioned root and ``update_check`` on)."""
        return self._make_checker is not None

    def start(self) -> None:
        """Check now and then daily; nothing when there is no checker."""
        if self._make_checker is None:
            return
        self.check_now()
        self._timer.start()

    def stop(self) -> None:
        """Stop checking (a check under way still reports)."""
        self._timer.stop()

    def check_now(self) -> None:
        """Start one check unless one is under way or an update was already found."""
        if self._make_checker is None or self._busy or self.offer is not None:
            return
        self._busy = True
        self._runner.submit(self._check_on_worker, self._on_check_done, self._on_check_error)

    def _check_on_worker(self) -> tuple[UpdateOffer, UpdateOutcome] | None:
        if self._checker is None and self._make_checker is not None:
            self._checker = self._make_checker()
        return _checked(self._checker) if self._checker is not None else None

    def _on_check_done(self, result: tuple[UpdateOffer, UpdateOutcome] | None) -> None:
        self._busy = False
        if result is None:
            return
        self.offer, outcome = result
        self._outcome = outcome
        log.info("verified update %s ready (%s)", self.offer.version, outcome.value)
        self.update_found.emit(self.offer.version, outcome.value)

    def _on_check_error(self, exc: ClientError) -> None:
        self._busy = False
        refused = isinstance(exc, UpdateCheckError) and exc.refused
        (log.warning if refused else log.info)("%s", exc.message)
        self.check_failed.emit(exc.message, refused)

    def attach(self, view: UpdateNoticeView) -> None:
        """Show found updates in ``view`` (at once if one was already found)."""
        self.update_found.connect(view.show_update_notice)
        if self.offer is not None and self._outcome is not None:
            view.show_update_notice(self.offer.version, self._outcome.value)

    def finish(self) -> None:
        """At client exit: stop checking and start a pending Windows installer (see :class:`WindowsInstallerEdge`)."""
        self.stop()
        self._runner.close(5_000)  # a check under way finishes (or is dropped) before its transport closes
        if self._checker is None:
            return
        from agent_client.updates import WindowsInstallerEdge  # noqa: PLC0415 - loaded with the first check

        self._checker.close()
        if isinstance(self._checker.edge, WindowsInstallerEdge):
            self._checker.edge.run_pending()


def make_update_service(config: DeploymentConfig, parent: QObject | None = None) -> UpdateService:
    """The service for a deployment: it checks only when ``update_check`` is on and IT provisioned ``tuf-root.json``."""
    root = read_trusted_root() if config.update_check else None
    if config.update_check and root is None:
        log.info("no provisioned TUF root; update checks are off")
    if root is None:
        return UpdateService(None, parent=parent)
    trusted: bytes = root

    def make_checker() -> UpdateChecker:
        from agent_client.updates import UpdateChecker, default_edge  # noqa: PLC0415 - on the worker

        return UpdateChecker(config, trusted, update_cache_dir(), default_edge())

    return UpdateService(make_checker, parent=parent)
