"""Runs agent API calls off the GUI thread and reports displays.

:class:`AgentService` is the only thing views' controller talks to; it hands
typed :mod:`shared.protocol` models back through signals. Workers run one at
a time on a private thread pool, return data and never persist anything.

Outcomes and display events are written to the durable outbox first
(:class:`agent_client.outbox.Outbox`, on the GUI thread), then uploaded one
request at a time, oldest first, with their client-made ids and session
numbers, retried with back-off until the server acknowledges them, and only
then deleted. What is left at exit goes first after the next login. A timer
keeps the session's access token fresh while the agent works.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence

from pydantic import ValidationError as PydanticValidationError
from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal, Slot

from agent_client.api import AgentApi
from agent_client.credentials import DeviceIdentity, new_device_key, public_key_b64
from agent_client.errors import ApiError, ClientError
from agent_client.jobs import JobRunner
from agent_client.messages import error_message, user_message
from agent_client.outbox import Outbox
from agent_client.outcome import OutcomeDraft
from agent_client.reporter import SESSION_ENDING
from agent_client.uploads import Uploader
from shared.auth import EnrolResponse, LoginResponse
from shared.client_report import ClientReport
from shared.errors import ErrorCode
from shared.protocol import BlockedAction, DisplayEventKind, NextRecordResponse

__all__ = ["PENDING_EVENTS_LIMIT", "AgentService"]

log = logging.getLogger(__name__)

_RETRY_DELAYS_MS = (1000, 2000, 5000, 10000, 30000)
#: How often the session's tokens are checked for a refresh, in milliseconds.
_KEEPALIVE_MS = 20_000
#: More display events than this waiting for the server and no new record is shown.
PENDING_EVENTS_LIMIT = 50


class AgentService(QObject):
    """The agent's session with the server, driven from the GUI thread.

    Args:
        api: The API client (owned by the service from now on).
        pool: Thread pool for calls; a private one-thread pool if omitted.
        outbox: The durable outbox (owned from now on); an in-memory one if omitted
            (nothing then survives the process: the real client always passes one).
        retry_delays_ms: Back-off between failed uploads.
        keepalive_ms: How often the access token is checked for a refresh.
        device_name: Name sent at enrolment; the host name if omitted.
        parent: Qt parent.

    Signals:
        enrolled(DeviceIdentity): Enrolment succeeded; the caller stores the identity.
        logged_in(LoginResponse): Login succeeded.
        login_failed(str, str): Login was refused or failed (code, translated
            message; e.g. ``account_locked`` with the local time the lock ends).
        record_received(RecordView | None, int, str): The current record, or None,
            the seconds to wait before asking again and why (an :class:`IdleReason` value, or "").
        quota_received(QuotaView): The agent's issuance count, after every
            ``/next`` whose answer carried one (records or ``quota_reached``).
        limit_reached(datetime | None, str): ``/next`` issued nothing because a
            limit was reached: when the next record may come (UTC-aware, as the
            server said) and the translated message naming the local time.
        disposition_recorded(DispositionResponse): An outcome was stored by the server.
        record_withdrawn(str, str): An outcome was refused because the lease
            is gone (``no_lease``: withdrawn or expired); lease id, message.
        events_delivered(int): That many display events were acknowledged.
        reporting_failed(str, str): An upload failed (code, message); retried.
        pending_changed(int, int): Outcomes and display events now waiting for the server.
        failed(str, str): A requested call failed (code, translated message).
    """

    enrolled = Signal(object)
    logged_in = Signal(object)
    login_failed = Signal(str, str)
    record_received = Signal(object, int, str)
    quota_received = Signal(object)
    limit_reached = Signal(object, str)
    disposition_recorded = Signal(object)
    record_withdrawn = Signal(str, str)
    events_delivered = Signal(int)
    reporting_failed = Signal(str, str)
    pending_changed = Signal(int, int)
    failed = Signal(str, str)

    def __init__(
        self,
        api: AgentApi,
        *,
        pool: QThreadPool | None = None,
        outbox: Outbox | None = None,
        retry_delays_ms: Sequence[int] = _RETRY_DELAYS_MS,
        keepalive_ms: int = _KEEPALIVE_MS,
        device_name: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._api = api
        self._runner = JobRunner(pool, self)
        self._outbox = outbox if outbox is not None else Outbox.in_memory()
        self._device_name = device_name
        self._uploader = Uploader(api, self._outbox, self._runner, retry_delays_ms=retry_delays_ms, parent=self)
        for name in (
            "disposition_recorded",
            "record_withdrawn",
            "events_delivered",
            "reporting_failed",
            "pending_changed",
            "failed",
        ):
            getattr(self._uploader, name).connect(getattr(self, name))
        self._keepalive = QTimer(self)
        self._keepalive.setInterval(keepalive_ms)
        self._keepalive.timeout.connect(self._on_keepalive_timeout)

    @property
    def pending_events(self) -> int:
        """How many display events wait for acknowledgement."""
        return self._outbox.counts()[1]

    @property
    def pending_outcomes(self) -> int:
        """How many outcomes wait for acknowledgement."""
        return self._outbox.counts()[0]

    @property
    def records_blocked(self) -> bool:
        """Whether so much waits for the server that no new record may be shown."""
        outcomes, events = self._outbox.counts()
        return outcomes > 0 or events > PENDING_EVENTS_LIMIT

    def enrol(self, enrolment_code: str) -> None:
        """Create a device key and enrol it; emits ``enrolled`` or ``failed``."""
        key = new_device_key()
        name = (self._device_name or socket.gethostname() or "agent-device")[:64]

        def call() -> EnrolResponse:
            return self._api.enrol(enrolment_code=enrolment_code, public_key_b64=public_key_b64(key), device_name=name)

        def done(response: EnrolResponse) -> None:
            self.enrolled.emit(DeviceIdentity(device_id=response.device_id, login=response.login, private_key=key))

        self._runner.submit(call, done, self._emit_failed)

    def login(self, identity: DeviceIdentity, login: str, password: str) -> None:
        """Log in with the device proof; emits ``logged_in`` or ``login_failed``, then uploads what waits."""

        def done(response: LoginResponse) -> None:
            self._outbox.begin_session(agent_id=response.agent_id, session_id=response.session_id)
            self._uploader.reset()
            self._keepalive.start()
            self.logged_in.emit(response)
            self.pending_changed.emit(*self._outbox.counts())
            self.flush_events()

        def refused(exc: ClientError) -> None:
            log.warning("login failed: %s", exc.code)
            self.login_failed.emit(str(exc.code), error_message(exc))

        self._runner.submit(lambda: self._api.login(identity, login=login, password=password), done, refused)

    def logout(self) -> None:
        """Forget the session's tokens once the calls queued before it have run.

        What waits in the outbox is kept and sent after the next login.
        """
        self._uploader.stop()
        self._keepalive.stop()
        self._runner.submit(self._api.logout, lambda _none: None, self._emit_failed)

    def request_next_record(self) -> None:
        """Ask for the current record.

        Emits ``quota_received`` when the answer carries the count, then
        ``record_received``, ``limit_reached`` (``quota_reached``) or ``failed``.
        """

        def done(response: NextRecordResponse) -> None:
            if response.quota is not None:
                self.quota_received.emit(response.quota)
            idle = response.idle_reason.value if response.idle_reason else ""
            self.record_received.emit(response.record, max(response.retry_after_s, 0), idle)

        def refused(exc: ClientError) -> None:
            if isinstance(exc, ApiError) and exc.code == ErrorCode.QUOTA_REACHED:
                log.info("record limit reached")
                if exc.quota is not None:
                    self.quota_received.emit(exc.quota)
                self.limit_reached.emit(exc.retry_at, error_message(exc))
            else:
                self._emit_failed(exc)

        self._runner.submit(self._api.next_record, done, refused)

    def dispose(self, draft: OutcomeDraft) -> None:
        """Store an outcome in the outbox, then send it.

        Emits ``pending_changed`` at once, later ``disposition_recorded``,
        ``record_withdrawn`` or ``failed`` (refused for good). A draft the
        protocol refuses (a note too long) is not stored: ``failed`` with ``bad_request``.
        """
        try:
            self._outbox.add_outcome(draft)
        except PydanticValidationError:
            self.failed.emit(str(ErrorCode.BAD_REQUEST), user_message(ErrorCode.BAD_REQUEST))
            return
        log.info("outcome stored in the outbox")
        self.pending_changed.emit(*self._outbox.counts())
        self.flush_events()

    def report_displayed(self, lease_id: str) -> None:
        """Store and upload a ``record_displayed`` event."""
        self._add_event(DisplayEventKind.RECORD_DISPLAYED, lease_id)

    def report_hidden(self, lease_id: str, duration_ms: int) -> None:
        """Store and upload a ``record_hidden`` event."""
        self._add_event(DisplayEventKind.RECORD_HIDDEN, lease_id, duration_ms=max(duration_ms, 0))

    def report_focus(self, lease_id: str, lost: bool) -> None:
        """Store and upload a ``focus_lost`` (``lost``) or ``focus_regained`` event."""
        self._add_event(DisplayEventKind.FOCUS_LOST if lost else DisplayEventKind.FOCUS_REGAINED, lease_id)

    def report_blocked(self, lease_id: str, action: str) -> None:
        """Store and upload an ``action_blocked`` event.

        Args:
            lease_id: The lease of the record on screen.
            action: A :class:`shared.protocol.BlockedAction` value.

        Raises:
            ValueError: ``action`` is not a blocked action the protocol knows.
        """
        self._add_event(DisplayEventKind.ACTION_BLOCKED, lease_id, detail=BlockedAction(action))

    def report_client(self, report: ClientReport) -> None:
        """Send a report about this client (audited by the server) in the current session; a failure is only logged.

        Not kept in the outbox: the settings go again after every login.
        """
        if not self._api.logged_in or self._runner.closed:
            log.info("a client report without a session was not sent")
            return

        def failed(exc: ClientError) -> None:
            log.warning("client report %s not sent: %s", report.kind, exc.code)

        self._runner.submit(lambda: self._api.send_client_report(report), lambda _result: None, failed)

    def _add_event(
        self,
        kind: DisplayEventKind,
        lease_id: str,
        *,
        duration_ms: int | None = None,
        detail: BlockedAction | None = None,
    ) -> None:
        if not self._outbox.session_id:
            log.warning("a display event before any login was not recorded")
            return
        self._outbox.add_event(kind, lease_id, duration_ms=duration_ms, detail=detail)
        self.pending_changed.emit(*self._outbox.counts())
        self.flush_events()

    @Slot()
    def flush_events(self) -> None:
        """Upload the oldest waiting outcome or batch of events, if nothing is out already."""
        self._uploader.flush()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Try a last upload, wait for running calls, then close the API client and the outbox."""
        self._uploader.stop()
        self._keepalive.stop()
        self.flush_events()
        self._runner.close(timeout_ms)  # answers still queued are dropped: unacknowledged items stay
        self._api.close()
        self._outbox.close()

    @Slot()
    def _on_keepalive_timeout(self) -> None:
        if self._api.logged_in and not self._runner.closed:
            self._runner.submit(self._api.refresh_if_due, lambda _done: None, self._on_refresh_failed)

    def _on_refresh_failed(self, exc: ClientError) -> None:
        if isinstance(exc, ApiError) and exc.code in SESSION_ENDING | {ErrorCode.ADDRESS_NOT_ALLOWED}:
            self._keepalive.stop()
            self._emit_failed(exc)
        else:
            log.info("token refresh failed (%s); tried again later", exc.code)

    def _emit_failed(self, exc: ClientError) -> None:
        log.warning("call failed: %s", exc.code)
        self.failed.emit(str(exc.code), error_message(exc))
