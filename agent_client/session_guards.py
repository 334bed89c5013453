"""Protections that span the client's windows: capture exclusion, the accessibility mode, the idle lock.

:class:`SessionGuards` is owned by :class:`agent_client.app.AppController`:
it excludes every top-level window from capture (reporting a refusal to the
server), sets the deployment's screen-reader mode, reports the settings that
weaken protection (screen reader, idle lock, update check, provisioned) after
each login, and runs the idle lock while a session is open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

from agent_client.config import DeploymentConfig
from agent_client.views.accessibility import set_screen_reader_mode
from agent_client.views.capture import CaptureExclusion, User32

if TYPE_CHECKING:  # the service and record window load after the first window (agent_client.main)
    from agent_client.idle import IdleWatch
    from agent_client.service import AgentService
    from agent_client.views.record_window import RecordWindow

__all__ = ["SessionGuards"]

# Refusals kept for the next login at most (one per window class is enough to audit).
_MAX_PENDING_REFUSALS = 16


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SessionGuards(QObject):
    """Capture exclusion of every top-level window, the screen-reader mode and the idle lock.

    Args:
        user32: The Win32 edge for capture exclusion (None: not Windows, nothing to do).
        idle_clock: Monotonic seconds for the idle lock (injected for tests).
        utc_clock: The aware time reports carry (injected for tests).
        parent: Qt parent.

    Signals:
        idle_locked(int): No input for the configured minutes (that many) while a session was open.
    """

    idle_locked = Signal(int)

    def __init__(
        self,
        *,
        user32: User32 | None,
        idle_clock: Callable[[], float] = time.monotonic,
        utc_clock: Callable[[], datetime] = _utc_now,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._idle_clock = idle_clock
        self._utc_clock = utc_clock
        self._config: DeploymentConfig | None = None
        self._service: AgentService | None = None
        self._refused: list[str] = []
        self.idle: IdleWatch | None = None
        self.capture = CaptureExclusion(user32, self)
        self.capture.refused.connect(self._on_capture_refused)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            self.capture.install(app)

    def configure(self, config: DeploymentConfig) -> None:
        """Apply the deployment's accessibility mode (before its windows open)."""
        self._config = config
        set_screen_reader_mode(config.screen_reader_mode)

    def session_started(self, service: AgentService, window: RecordWindow) -> None:
        """Report the settings and any refused exclusion, then run the idle lock over ``window``'s session."""
        from shared.client_report import ClientReport, ClientReportKind  # noqa: PLC0415 - pydantic: after login

        self.session_ended()
        self._service = service
        config = self._config
        service.report_client(
            ClientReport(
                kind=ClientReportKind.CLIENT_SETTINGS,
                occurred_at=self._utc_clock(),
                screen_reader_mode=bool(config and config.screen_reader_mode),
                idle_lock_minutes=config.idle_lock_minutes if config else None,
                update_check=config.update_check if config else None,
                provisioned=config.provisioned if config else None,
            )
        )
        refused, self._refused = self._refused, []
        for name in refused:
            self._report_refusal(name)
        minutes = self._config.idle_lock_minutes if self._config else 10
        from agent_client.idle import IdleWatch  # noqa: PLC0415 - after login

        idle = IdleWatch(minutes * 60, clock=self._idle_clock, parent=self)
        idle.warning.connect(lambda seconds: window.show_notice(self._warning_text(seconds)))
        idle.resumed.connect(lambda: window.show_notice(""))
        idle.expired.connect(lambda: self.idle_locked.emit(minutes))
        self.idle = idle
        idle.start()

    def session_ended(self) -> None:
        """Stop the idle lock; reports wait for the next session."""
        self._service = None
        if self.idle is not None:
            self.idle.stop()
            self.idle.deleteLater()
            self.idle = None

    def _warning_text(self, seconds: int) -> str:
        return self.tr("No input for a while: in {seconds} s the record is hidden and you must log in again.").format(
            seconds=seconds
        )

    def _on_capture_refused(self, window_name: str) -> None:
        if self._service is not None:
            self._report_refusal(window_name)
        elif window_name not in self._refused and len(self._refused) < _MAX_PENDING_REFUSALS:
            self._refused.append(window_name)

    def _report_refusal(self, window_name: str) -> None:
        from shared.client_report import ClientReport, ClientReportKind, client_window  # noqa: PLC0415 - after login

        assert self._service is not None  # noqa: S101 - callers check
        self._service.report_client(
            ClientReport(
                kind=ClientReportKind.CAPTURE_EXCLUSION_REFUSED,
                occurred_at=self._utc_clock(),
                window=client_window(window_name),  # the closed set: an unknown class name is sent as "other"
            )
        )
