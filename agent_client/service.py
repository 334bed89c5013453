"""Runs agent API calls off the GUI thread and reports displays.

:class:`AgentService` is the only thing views' controller talks to; it hands
typed :mod:`shared.protocol` models back through signals. Workers run one at
a time on a private thread pool, return data and never persist anything.

Display events are queued in process memory (:class:`agent_client.reporter.EventQueue`)
and uploaded in batches, retried with back-off until the server acknowledges
them. Events not yet acknowledged when the process exits are lost.
"""

from __future__ import annotations

import functools
import logging
import socket
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

from agent_client.api import AgentApi
from agent_client.credentials import DeviceIdentity, new_device_key, public_key_b64
from agent_client.errors import ApiError, ClientError
from agent_client.messages import error_message, user_message
from agent_client.reporter import EventQueue
from shared.errors import ErrorCode
from shared.protocol import BlockedAction, DisplayEventKind, EnrolResponse, EventBatchResult, NextRecordResponse

__all__ = ["AgentService"]

log = logging.getLogger(__name__)

_RETRY_DELAYS_MS = (1000, 2000, 5000, 10000, 30000)


class _JobSignals(QObject):
    finished = Signal(object)


class _Job(QRunnable):
    """Calls ``call`` on a worker thread and posts the continuation back."""

    def __init__(
        self,
        call: Callable[[], Any],
        on_success: Callable[[Any], None],
        on_error: Callable[[ClientError], None],
        signals: _JobSignals,
    ) -> None:
        super().__init__()
        self._call = call
        self._on_success = on_success
        self._on_error = on_error
        self._signals = signals

    def run(self) -> None:
        """Run the call; never raises."""
        continuation: Callable[[], None]
        try:
            value = self._call()
        except ClientError as exc:
            continuation = functools.partial(self._on_error, exc)
        except Exception as exc:  # noqa: BLE001 - a worker must always report back
            log.error("unexpected %s in a worker", type(exc).__name__)
            continuation = functools.partial(self._on_error, ClientError("unexpected error"))
        else:
            continuation = functools.partial(self._on_success, value)
        self._signals.finished.emit(continuation)


class AgentService(QObject):
    """The agent's session with the server, driven from the GUI thread.

    Args:
        api: The API client (owned by the service from now on).
        pool: Thread pool for calls; a private one-thread pool if omitted.
        queue: Display-event queue; a new one if omitted.
        retry_delays_ms: Back-off between failed event uploads.
        device_name: Name sent at enrolment; the host name if omitted.
        parent: Qt parent.

    Signals:
        enrolled(DeviceIdentity): Enrolment succeeded; the caller stores the identity.
        logged_in(LoginResponse): Login succeeded.
        login_failed(str, str): Login was refused or failed (code, translated
            message; e.g. ``account_locked`` with the local time the lock ends).
        record_received(RecordView | None, int): The current record, or None and
            the seconds to wait before asking again.
        quota_received(QuotaView): The agent's issuance count, after every
            ``/next`` whose answer carried one (records or ``quota_reached``).
        limit_reached(datetime | None, str): ``/next`` issued nothing because a
            limit was reached: when the next record may come (UTC-aware, as the
            server said) and the translated message naming the local time.
        disposition_recorded(DispositionResponse): The lease was closed.
        record_withdrawn(str, str): The outcome was refused because the lease
            is gone (``no_lease``: withdrawn or expired); lease id, message.
        events_delivered(int): That many display events were acknowledged.
        reporting_failed(str, str): An event upload failed (code, message); retried.
        failed(str, str): A requested call failed (code, translated message).
    """

    enrolled = Signal(object)
    logged_in = Signal(object)
    login_failed = Signal(str, str)
    record_received = Signal(object, int)
    quota_received = Signal(object)
    limit_reached = Signal(object, str)
    disposition_recorded = Signal(object)
    record_withdrawn = Signal(str, str)
    events_delivered = Signal(int)
    reporting_failed = Signal(str, str)
    failed = Signal(str, str)

    def __init__(
        self,
        api: AgentApi,
        *,
        pool: QThreadPool | None = None,
        queue: EventQueue | None = None,
        retry_delays_ms: Sequence[int] = _RETRY_DELAYS_MS,
        device_name: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._api = api
        if pool is None:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(1)
        self._pool = pool
        self._queue = queue if queue is not None else EventQueue()
        self._retry_delays_ms = tuple(retry_delays_ms)
        self._device_name = device_name
        self._jobs: set[_JobSignals] = set()
        self._retry_timer = QTimer(self)
        self._retry_timer.setSingleShot(True)
        self._retry_timer.timeout.connect(self.flush_events)

    @property
    def pending_events(self) -> int:
        """How many display events wait for acknowledgement."""
        return len(self._queue)

    def enrol(self, enrolment_code: str) -> None:
        """Create a device key and enrol it; emits ``enrolled`` or ``failed``."""
        key = new_device_key()
        name = (self._device_name or socket.gethostname() or "agent-device")[:64]

        def call() -> EnrolResponse:
            return self._api.enrol(enrolment_code=enrolment_code, public_key_b64=public_key_b64(key), device_name=name)

        def done(response: EnrolResponse) -> None:
            self.enrolled.emit(DeviceIdentity(device_id=response.device_id, login=response.login, private_key=key))

        self._submit(call, done, self._emit_failed)

    def login(self, identity: DeviceIdentity, login: str, password: str) -> None:
        """Log in with the device proof; emits ``logged_in`` or ``login_failed``."""

        def done(response: object) -> None:
            self._queue.new_session()
            self.logged_in.emit(response)

        def refused(exc: ClientError) -> None:
            log.warning("login failed: %s", exc.code)
            self.login_failed.emit(str(exc.code), error_message(exc))

        self._submit(lambda: self._api.login(identity, login=login, password=password), done, refused)

    def logout(self) -> None:
        """Forget the session token once the calls queued before it have run.

        Events still unacknowledged then are kept and retried after the next login.
        """
        self._retry_timer.stop()
        self._submit(self._api.logout, lambda _none: None, self._emit_failed)

    def request_next_record(self) -> None:
        """Ask for the current record.

        Emits ``quota_received`` when the answer carries the count, then
        ``record_received``, ``limit_reached`` (``quota_reached``) or ``failed``.
        """

        def done(response: NextRecordResponse) -> None:
            if response.quota is not None:
                self.quota_received.emit(response.quota)
            self.record_received.emit(response.record, max(response.retry_after_s, 0))

        def refused(exc: ClientError) -> None:
            if isinstance(exc, ApiError) and exc.code == ErrorCode.QUOTA_REACHED:
                log.info("record limit reached")
                if exc.quota is not None:
                    self.quota_received.emit(exc.quota)
                self.limit_reached.emit(exc.retry_at, error_message(exc))
            else:
                self._emit_failed(exc)

        self._submit(self._api.next_record, done, refused)

    def dispose(self, lease_id: str, code: str) -> None:
        """Record an outcome; emits ``disposition_recorded``, ``record_withdrawn`` or ``failed``."""

        def refused(exc: ClientError) -> None:
            if isinstance(exc, ApiError) and exc.code == ErrorCode.NO_LEASE:
                log.info("the outcome's lease is gone (withdrawn or expired)")
                self.record_withdrawn.emit(lease_id, error_message(exc))
            else:
                self._emit_failed(exc)

        self._submit(lambda: self._api.dispose(lease_id=lease_id, code=code), self.disposition_recorded.emit, refused)

    def report_displayed(self, lease_id: str) -> None:
        """Queue and upload a ``record_displayed`` event."""
        self._queue.add(DisplayEventKind.RECORD_DISPLAYED, lease_id)
        self.flush_events()

    def report_hidden(self, lease_id: str, duration_ms: int) -> None:
        """Queue and upload a ``record_hidden`` event."""
        self._queue.add(DisplayEventKind.RECORD_HIDDEN, lease_id, duration_ms=max(duration_ms, 0))
        self.flush_events()

    def report_focus(self, lease_id: str, lost: bool) -> None:
        """Queue and upload a ``focus_lost`` (``lost``) or ``focus_regained`` event."""
        kind = DisplayEventKind.FOCUS_LOST if lost else DisplayEventKind.FOCUS_REGAINED
        self._queue.add(kind, lease_id)
        self.flush_events()

    def report_blocked(self, lease_id: str, action: str) -> None:
        """Queue and upload an ``action_blocked`` event.

        Args:
            lease_id: The lease of the record on screen.
            action: A :class:`shared.protocol.BlockedAction` value.

        Raises:
            ValueError: ``action`` is not a blocked action the protocol knows.
        """
        self._queue.add(DisplayEventKind.ACTION_BLOCKED, lease_id, detail=BlockedAction(action))
        self.flush_events()

    @Slot()
    def flush_events(self) -> None:
        """Upload the next batch of queued events, if none is out already."""
        if not self._api.logged_in:
            return
        batch = self._queue.take_batch()
        if batch:
            self._retry_timer.stop()
            self._submit(lambda: self._api.send_events(batch), self._on_events_sent, self._on_events_failed)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Try a last upload, wait for running calls, then close the API client."""
        self._retry_timer.stop()
        self.flush_events()
        self._pool.waitForDone(timeout_ms)
        self._api.close()

    def _on_events_sent(self, result: EventBatchResult) -> None:
        count = self._queue.acknowledge()
        log.info("display events acknowledged: %d (%d new)", count, result.accepted)
        self.events_delivered.emit(count)
        self.flush_events()

    def _on_events_failed(self, exc: ClientError) -> None:
        self._queue.reject()
        delay = self._retry_delays_ms[min(self._queue.failures, len(self._retry_delays_ms)) - 1]
        log.warning("display event upload failed (%s); retry in %d ms", exc.code, delay)
        self._retry_timer.start(delay)
        self.reporting_failed.emit(str(exc.code), user_message("reporting"))

    def _emit_failed(self, exc: ClientError) -> None:
        log.warning("call failed: %s", exc.code)
        self.failed.emit(str(exc.code), error_message(exc))

    def _submit(
        self, call: Callable[[], Any], on_success: Callable[[Any], None], on_error: Callable[[ClientError], None]
    ) -> None:
        signals = _JobSignals()
        signals.finished.connect(self._on_job_finished)
        self._jobs.add(signals)

        def success(value: Any) -> None:
            self._jobs.discard(signals)
            on_success(value)

        def error(exc: ClientError) -> None:
            self._jobs.discard(signals)
            on_error(exc)

        self._pool.start(_Job(call, success, error, signals))

    @Slot(object)
    def _on_job_finished(self, continuation: Callable[[], None]) -> None:
        continuation()
