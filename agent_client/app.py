"""The controller: wires config, credentials, the service and the windows.

It owns the flow enrol → log in → work records, and is the only place that
persists anything (the identity in the keyring, the config copy on disk),
always on the GUI thread.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
from PySide6.QtGui import QClipboard
from PySide6.QtWidgets import QWidget

from agent_client.config import DeploymentConfig, load_deployment_config, save_user_copy
from agent_client.errors import ClientError, DeploymentConfigError
from agent_client.messages import user_message
from agent_client.session_guards import SessionGuards
from agent_client.update_service import UpdateService
from agent_client.views.capture import windows_user32
from agent_client.views.enrolment_dialog import EnrolmentDialog
from agent_client.views.window_marks import WindowWatermarks
from shared.errors import ErrorCode

if TYPE_CHECKING:
    # The connection's modules (httpx, keyring, cryptography, pydantic's wire models) load after
    # the first window is shown (agent_client.main); the record window after login.
    from agent_client.call_binding import CallBinding
    from agent_client.call_service import CallService
    from agent_client.credentials import CredentialStore, DeviceIdentity
    from agent_client.outcome import OutcomeDraft
    from agent_client.service import AgentService
    from agent_client.views.login_window import LoginWindow  # its Qt namespace (15 ms): not needed to enrol
    from agent_client.views.record_window import RecordWindow
    from shared.auth import LoginResponse
    from shared.protocol import QuotaView, RecordView

__all__ = ["AppController", "Connection", "StartOptions"]

log = logging.getLogger(__name__)

_SESSION_ENDING = frozenset(
    {ErrorCode.UNAUTHORIZED, ErrorCode.TOKEN_EXPIRED, ErrorCode.DEVICE_REVOKED, ErrorCode.ACCOUNT_SUSPENDED}
)
_ERROR_POLL_S = 10
#: How long to wait at a limit when the server named no time.
_LIMIT_FALLBACK_MS = 60_000
#: Added to a limit's wait so that the request arrives after ``retry_at``, not a hair before.
_LIMIT_MARGIN_MS = 250


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Connection:
    """What the controller needs for one deployment."""

    config: DeploymentConfig
    store: CredentialStore
    service: AgentService
    calls: CallService | None = None
    updates: UpdateService | None = None


@dataclass(frozen=True)
class StartOptions:
    """What the command line supplied."""

    config_path: Path | None = None
    enrol_code: str | None = None
    login: str | None = None
    password: str | None = None


class AppController(QObject):
    """Drives the windows through enrolment, login and record work.

    Args:
        clipboard: The application clipboard (for the record window's guard).
        connect: Builds the store and service of a deployment; may raise
            :class:`agent_client.errors.ClientError` (e.g. no keyring).
        config_dir: Where to keep the config copy; the default per-user dir if None.
        clock: The current time, timezone-aware (injected for tests); it times
            the automatic request at a limit's ``retry_at``.
        guards: Capture exclusion, screen-reader mode and idle lock; the
            real ones (Win32 on Windows) if None.
        parent: Qt parent.

    Signals:
        failed_fatally(str): The client cannot go on; the message says why.
    """

    failed_fatally = Signal(str)

    def __init__(
        self,
        clipboard: QClipboard,
        connect: Callable[[DeploymentConfig], Connection],
        *,
        config_dir: Path | None = None,
        clock: Callable[[], datetime] = _utc_now,
        guards: SessionGuards | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.guards = guards if guards is not None else SessionGuards(user32=windows_user32())
        self.guards.setParent(self)
        self.guards.idle_locked.connect(self.on_guards_idle_locked)
        self._clipboard = clipboard
        self._clock = clock
        self._connect = connect
        self._config_dir = config_dir
        self._connection: Connection | None = None
        self._calls: CallBinding | None = None
        self._identity: DeviceIdentity | None = None
        self._enrolment: EnrolmentDialog | None = None
        self._login_window: LoginWindow | None = None
        self.record_window: RecordWindow | None = None
        self._marks: WindowWatermarks | None = None
        self._reporting_ok = True
        self._held = False  # a record is owed to the agent once nothing blocks it
        self._config_path: Path | None = None
        self._login_override: str | None = None
        self._auto_password: str | None = None

    @property
    def service(self) -> AgentService | None:
        """The service of the current deployment, once connected."""
        return self._connection.service if self._connection else None

    def start(self, config: DeploymentConfig | None, raw_config: bytes | None, options: StartOptions) -> None:
        """Begin the flow with what the command line gave."""
        self._config_path = options.config_path
        self._login_override = options.login
        self._auto_password = options.password
        if config is None or raw_config is None:
            self._show_enrolment(options.config_path)
            return
        if not self._use_config(config, raw_config):
            return
        assert self._connection is not None  # noqa: S101 - set by _use_config
        try:
            self._identity = self._connection.store.load()
        except ClientError as exc:
            self.failed_fatally.emit(user_message(exc.code) + "\n" + exc.message)
            return
        if self._identity is not None:
            self._show_login(self._take_auto_password())
        elif options.enrol_code:
            self._connection.service.enrol(options.enrol_code)
        else:
            self._show_enrolment(options.config_path)

    def show_first_window(
        self,
        config: DeploymentConfig,
        options: StartOptions,
        open_store: Callable[[], CredentialStore],
        enrolled_login: Callable[[], str | None] | None = None,
    ) -> QWidget | None:
        """Show the window :meth:`start` will show, before it connects (only the identity decides which).

        ``main`` shows it first and calls :meth:`start` once it is on screen;
        :meth:`start` does all its work as before and shows the same window
        again (a no-op). Any error here is left to :meth:`start`, which
        reports it as always.

        Args:
            config: The deployment config.
            options: The start options.
            open_store: Opens the credential store (the keyring), used when no hint is given.
            enrolled_login: The login this computer is enrolled for, from a non-secret hint
                (:mod:`agent_client.enrolment_hint`), without opening the keyring; :meth:`start`
                corrects the window if the keyring says otherwise.

        Returns:
            The login window (enrolled) or the enrolment dialog (not enrolled,
            no ``--enrol-code``), or None if :meth:`start` shows no window first.
        """
        if enrolled_login is not None:
            login = enrolled_login()  # the hint: the keyring is opened only once the window is up
        else:
            try:
                identity = open_store().load()
            except ClientError:
                return None
            login = identity.login if identity is not None else None
        if login is not None:
            from agent_client.views.login_window import LoginWindow  # noqa: PLC0415 - lazy, see the imports

            self._login_window = LoginWindow(config.organisation, options.login or login)
            self._login_window.login_submitted.connect(self.on_login_submitted)
            self._login_window.show()
            return self._login_window
        if options.enrol_code:
            return None
        self._show_enrolment(options.config_path)
        return self._enrolment

    def shutdown(self) -> None:
        """Take any record off screen and send what can still be sent."""
        self.guards.session_ended()
        self._unmark_windows()
        if self.record_window is not None:
            self.record_window.close()
        if self._connection is not None:
            if self._connection.calls is not None:
                self._connection.calls.shutdown()
            self._connection.service.shutdown()
            if self._connection.updates is not None:
                self._connection.updates.finish()

    def _use_config(self, config: DeploymentConfig, raw: bytes) -> bool:
        try:
            connection = self._connect(config)
        except ClientError as exc:
            self.failed_fatally.emit(user_message(exc.code) + "\n" + exc.message)
            return False
        try:
            save_user_copy(raw, self._config_dir)
        except DeploymentConfigError as exc:
            log.warning("%s", exc.message)
        self._connection = connection
        self.guards.configure(config)
        service = connection.service
        service.enrolled.connect(self.on_service_enrolled)
        service.logged_in.connect(self.on_service_logged_in)
        service.login_failed.connect(self.on_service_login_failed)
        service.record_received.connect(self.on_service_record_received)
        service.quota_received.connect(self.on_service_quota_received)
        service.limit_reached.connect(self.on_service_limit_reached)
        service.disposition_recorded.connect(self.on_service_disposition_recorded)
        service.record_withdrawn.connect(self.on_service_record_withdrawn)
        service.events_delivered.connect(self.on_service_events_delivered)
        service.reporting_failed.connect(self.on_service_reporting_failed)
        service.pending_changed.connect(self.on_service_pending_changed)
        service.failed.connect(self.on_service_failed)
        if connection.updates is not None:
            connection.updates.start()
        if connection.calls is not None:
            from agent_client.call_binding import CallBinding  # noqa: PLC0415 - lazy, see the imports

            self._calls = CallBinding(
                connection.calls,
                window=lambda: self.record_window,
                end_session=self._end_session,
                session_ending=frozenset(_SESSION_ENDING),
                parent=self,
            )
        return True

    def _take_auto_password(self) -> str | None:
        password, self._auto_password = self._auto_password, None
        return password

    def _show_enrolment(self, config_path: Path | None, message: str = "") -> None:
        if self._enrolment is None:
            self._enrolment = EnrolmentDialog(config_path)
            self._enrolment.enrolment_submitted.connect(self.on_enrolment_submitted)
        self._enrolment.show_error(message)
        self._enrolment.show()

    def _show_login(self, password: str | None = None, message: str = "") -> None:
        assert self._connection is not None and self._identity is not None  # noqa: S101 - flow order
        login = self._login_override or self._identity.login
        if self._login_window is None:
            from agent_client.views.login_window import LoginWindow  # noqa: PLC0415 - lazy, see the imports

            self._login_window = LoginWindow(self._connection.config.organisation, login)
            self._login_window.login_submitted.connect(self.on_login_submitted)
        if message:
            self._login_window.show_error(message)
        self._login_window.show()
        if password:
            self._login_window.set_busy(True)
            self._connection.service.login(self._identity, login, password)

    def on_enrolment_submitted(self, path: str, code: str) -> None:
        """Load the chosen config (once) and enrol with the code."""
        assert self._enrolment is not None  # noqa: S101 - the dialog sent this
        if self._connection is None:
            try:
                config, raw = load_deployment_config(Path(path))
            except DeploymentConfigError as exc:
                self._enrolment.show_error(user_message(exc.code) + "\n" + exc.message)
                return
            if not self._use_config(config, raw):
                return
        assert self._connection is not None  # noqa: S101 - set above
        self._connection.service.enrol(code)

    def on_service_enrolled(self, identity: DeviceIdentity) -> None:
        """Store the new identity, then ask for the password."""
        assert self._connection is not None  # noqa: S101 - flow order
        try:
            self._connection.store.save(identity)
        except ClientError as exc:
            self.failed_fatally.emit(user_message(exc.code) + "\n" + exc.message)
            return
        self._identity = identity
        if self._enrolment is not None:
            self._enrolment.hide()
        self._show_login(self._take_auto_password())

    def on_login_submitted(self, login: str, password: str) -> None:
        """Log in with the stored device identity."""
        if self._connection is None:  # the first window came before start() connected: once it has
            QTimer.singleShot(0, lambda: self.on_login_submitted(login, password))
            return
        assert self._connection is not None and self._identity is not None  # noqa: S101 - flow order
        self._connection.service.login(self._identity, login, password)

    def on_service_logged_in(self, response: LoginResponse) -> None:
        """Open the record window and ask for the first record."""
        assert self._connection is not None  # noqa: S101 - flow order
        from agent_client.views.record_window import RecordWindow  # noqa: PLC0415 - lazy, see the imports

        self._mark_windows(response.agent_login)
        window = RecordWindow(response.agent_login, self._connection.config.organisation, self._clipboard)
        window.record_shown.connect(self._connection.service.report_displayed)
        window.record_hidden.connect(self._connection.service.report_hidden)
        window.focus_changed.connect(self._connection.service.report_focus)
        window.action_blocked.connect(self._connection.service.report_blocked)
        window.outcome_chosen.connect(self._on_outcome_chosen)
        if self._calls is not None:
            self._calls.attach(window)
        window.next_record_requested.connect(self._connection.service.request_next_record)
        window.logout_requested.connect(self.on_record_window_logout_requested)
        self.record_window = window
        if self._connection.updates is not None:
            self._connection.updates.attach(window)
        self._reporting_ok = True
        window.show()
        window.raise_()
        window.activateWindow()  # the agent's keys (F9, outcomes) work at once
        if self._login_window is not None:
            self._login_window.hide()
            self._login_window.show_error("")
        window.set_busy(self.tr("Asking for a record…"))
        self.guards.session_started(self._connection.service, window)
        self._held = True
        self._maybe_resume()  # what an earlier run left in the outbox goes first

    def on_service_pending_changed(self, outcomes: int, events: int) -> None:
        """Hold records while the outbox is over its limit; say what waits once an upload failed."""
        if self.record_window is None or self._connection is None:
            return
        if outcomes == 0 and events == 0:
            self._reporting_ok = True  # nothing waits: everything was reported
        if self._connection.service.records_blocked:
            if self.record_window.current_lease_id is not None or not self._reporting_ok:
                self._held = True
                self._show_pending(outcomes, events)
        else:
            self._maybe_resume()

    def _show_pending(self, outcomes: int, events: int) -> None:
        assert self.record_window is not None  # noqa: S101 - callers check
        self.record_window.show_pending(outcomes, events)

    def _maybe_resume(self) -> None:
        """Ask for the owed record once reporting works and nothing blocks it (once, however many signals say so)."""
        if not self._held or self._connection is None or self.record_window is None:
            return
        service = self._connection.service
        if service.records_blocked:
            if not self._reporting_ok:
                self._show_pending(service.pending_outcomes, service.pending_events)
            return
        if self._reporting_ok:
            self._held = False
            service.request_next_record()

    def on_service_record_received(self, record: RecordView | None, retry_after_s: int, idle_reason: str = "") -> None:
        """Show the record, or say why there is none (``idle_reason``: an :class:`IdleReason` value) and ask again."""
        if self.record_window is None:
            return
        blocked = self._connection is not None and self._connection.service.records_blocked
        if record is None:
            from shared.protocol import IdleReason  # noqa: PLC0415 - lazy, see the imports

            reason = IdleReason(idle_reason) if idle_reason in set(IdleReason) else None
            self.record_window.show_idle(reason, poll_after_s=retry_after_s)
        elif self._reporting_ok and not blocked:
            self.record_window.show_record(record)
        else:
            self._held = True
            self.record_window.set_busy(user_message("reporting"))

    def _on_outcome_chosen(self, draft: OutcomeDraft) -> None:
        """Hand the pressed outcome to the service (stored, then sent); the next record follows its acknowledgement."""
        assert self._connection is not None  # noqa: S101 - flow order
        if self._connection.calls is not None:
            self._connection.calls.forget()
        self._held = True
        self._connection.service.dispose(draft)

    def on_service_quota_received(self, quota: QuotaView) -> None:
        """Show the agent's counts against the limits."""
        if self.record_window is not None:
            self.record_window.show_quota(quota)

    def on_service_limit_reached(self, retry_at: datetime | None, message: str) -> None:
        """Show the limit with no record and ask again by itself at ``retry_at``."""
        if self.record_window is None:
            return
        if retry_at is None:
            wait_ms = _LIMIT_FALLBACK_MS
        else:
            wait_ms = math.ceil((retry_at - self._clock()).total_seconds() * 1000) + _LIMIT_MARGIN_MS
        self.record_window.show_limit_reached(message, wait_ms)

    def on_service_record_withdrawn(self, _lease_id: str, message: str) -> None:
        """Say that the record was withdrawn and fetch the next one."""
        if self.record_window is None or self._connection is None:
            return
        self.record_window.show_notice(message)
        self.record_window.set_busy(self.tr("Asking for a record…"))
        self._held = True  # asked for once the outbox says nothing blocks it (pending_changed follows)

    def on_service_disposition_recorded(self, _response: object) -> None:
        """The record is closed; the next one is asked for once nothing else blocks it (pending_changed follows)."""
        self._reporting_ok = True

    def on_service_reporting_failed(self, code: str, message: str) -> None:
        """No record may stay on screen while displays cannot be reported."""
        self._reporting_ok = False
        if self.record_window is None:
            log.info("event upload of an ended session failed: %s", code)
        elif code in _SESSION_ENDING:
            self._end_session(user_message(code))
        else:
            self._held = True
            service = self._connection.service if self._connection else None
            if service is not None and (service.pending_outcomes or service.records_blocked):
                self._show_pending(service.pending_outcomes, service.pending_events)
            else:
                self.record_window.set_busy(message)

    def on_service_events_delivered(self, _count: int) -> None:
        """Reporting works again; bring the record back."""
        if not self._reporting_ok:
            self._reporting_ok = True
            self._maybe_resume()

    def on_service_login_failed(self, _code: str, message: str) -> None:
        """Show why the login failed (wrong password, locked, suspended, network) in the login window."""
        if self._login_window is not None:
            self._login_window.show_error(message)
        else:
            self._show_login(message=message)

    def on_service_failed(self, code: str, message: str) -> None:
        """Route a failure to the window the agent is looking at.

        Once the session has ended (logout, suspension), calls it had queued
        may still fail (a revoked token answers ``unauthorized``); they must
        not replace the reason the login window shows.
        """
        if self.record_window is not None:
            if code in _SESSION_ENDING:
                self._end_session(message)
            else:
                self.record_window.show_waiting(message, poll_after_s=_ERROR_POLL_S)
        elif self._identity is None:
            self._show_enrolment(self._config_path, message)
        else:
            log.info("a call of an ended session failed: %s", code)

    def on_record_window_logout_requested(self) -> None:
        """Take the record off screen and return to the login window."""
        self._end_session("")

    def on_guards_idle_locked(self, minutes: int) -> None:
        """No input for the configured time: hide the record, end the session, ask for the password again."""
        if self.record_window is not None:
            log.info("idle lock after %d minutes without input", minutes)
            self._end_session(
                self.tr("Locked after {minutes} min without input. Log in again.").format(minutes=minutes)
            )

    def _mark_windows(self, agent_login: str) -> None:
        """Watermark every top-level window and dialog shown from now until the session ends."""
        self._unmark_windows()
        self._marks = WindowWatermarks(
            agent_login, lambda: self.record_window.current_lease_id if self.record_window else None
        )
        app = QCoreApplication.instance()
        if app is not None:
            self._marks.install(app)

    def _unmark_windows(self) -> None:
        if self._marks is not None:
            self._marks.uninstall()
            self._marks = None

    def _end_session(self, message: str) -> None:
        assert self._connection is not None  # noqa: S101 - flow order
        self.guards.session_ended()
        self._unmark_windows()
        window, self.record_window = self.record_window, None
        self._show_login(message=message)
        if window is not None:
            window.close()
            window.deleteLater()
        self._connection.service.logout()
