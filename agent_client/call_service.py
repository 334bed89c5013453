"""Places, follows and ends calls, and verifies fields, off the GUI thread.

The owner's telephony dials; the client only asks for a call on its lease and
then polls the call's state until it ended. Nothing here holds or sees a
number. A request id is made once per press of "Call", so a retried request
after a lost answer places no second call.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from agent_client.api import CallApi
from agent_client.errors import ApiError, ClientError, NetworkError
from agent_client.jobs import JobRunner
from agent_client.messages import error_message
from shared.calls import CallState, CallView

__all__ = ["POLL_MS", "CallService"]

log = logging.getLogger(__name__)

#: How often a live call's state is asked for, in milliseconds.
POLL_MS = 500
#: Waits before re-asking after the network failed during a call, in milliseconds.
_NETWORK_RETRY_MS = (1000, 2000, 5000)


class CallService(QObject):
    """The agent's calls and verifications, driven from the GUI thread.

    Args:
        api: The call endpoints of the logged-in session.
        pool: Thread pool for calls; a private one-thread pool if None.
        poll_ms: Interval between state polls of a live call.
        network_retry_ms: Back-off between polls after network failures.
        parent: Qt parent.

    Signals:
        call_updated(CallView): The call's state as the server last said.
        call_failed(str, str): Placing or ending a call was refused or failed
            (code, translated message); no call is live afterwards unless
            ``call_updated`` says so.
        call_unreachable(str): Polling a live call failed on the network
            (translated message); polling goes on.
        verified(VerifyResponse): The server's answer to a verification.
        verify_failed(str, str, str): A verification was refused (field, code, message).
    """

    call_updated = Signal(object)
    call_failed = Signal(str, str)
    call_unreachable = Signal(str)
    verified = Signal(object)
    verify_failed = Signal(str, str, str)

    def __init__(
        self,
        api: CallApi,
        *,
        pool: QThreadPool | None = None,
        poll_ms: int = POLL_MS,
        network_retry_ms: Sequence[int] = _NETWORK_RETRY_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._api = api
        self._runner = JobRunner(pool, self)
        self._poll_ms = poll_ms
        self._network_retry_ms = tuple(network_retry_ms)
        self._failures = 0
        self._call: CallView | None = None
        self._poll_timer = QTimer(self)
        self._poll_timer.setSingleShot(True)
        self._poll_timer.timeout.connect(self._poll)

    @property
    def live_call(self) -> CallView | None:
        """The call being followed, while it has not ended."""
        return self._call

    def place_call(self, lease_id: str) -> None:
        """Ask the owner's telephony to dial the leased record; emits ``call_updated`` or ``call_failed``."""
        if self._call is not None:
            return
        request_id = uuid.uuid4().hex
        self._runner.submit(
            lambda: self._api.place_call(lease_id=lease_id, request_id=request_id), self._on_state, self._on_refused
        )

    def hang_up(self, call_id: str) -> None:
        """End both legs of the call; the ended state comes with ``call_updated``."""
        self._runner.submit(lambda: self._api.hang_up(call_id), self._on_state, self._on_refused)

    def verify(self, lease_id: str, field: str, value: str) -> None:
        """Check what the customer said for a ``verify_only`` field; emits ``verified`` or ``verify_failed``."""

        def refused(exc: ClientError) -> None:
            log.info("verification refused: %s", exc.code)
            self.verify_failed.emit(field, str(exc.code), error_message(exc))

        self._runner.submit(
            lambda: self._api.verify(lease_id=lease_id, field=field, value=value), self.verified.emit, refused
        )

    def forget(self) -> None:
        """Stop following the call (the record left the screen)."""
        self._poll_timer.stop()
        self._call = None

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Stop polling and wait for running calls."""
        self.forget()
        self._runner.close(timeout_ms)

    def _poll(self) -> None:
        call = self._call
        if call is not None:
            self._runner.submit(lambda: self._api.call_state(call.call_id), self._on_state, self._on_poll_failed)

    def _on_state(self, view: CallView) -> None:
        self._failures = 0
        if self._call is not None and view.call_id != self._call.call_id:
            return
        ended = view.state is CallState.ENDED
        self._call = None if ended else view
        self.call_updated.emit(view)
        if not ended:
            self._poll_timer.start(self._poll_ms)

    def _on_refused(self, exc: ClientError) -> None:
        log.info("call request refused: %s", exc.code)
        if self._call is not None and isinstance(exc, NetworkError):
            self._on_poll_failed(exc)
            return
        self.call_failed.emit(str(exc.code), error_message(exc))

    def _on_poll_failed(self, exc: ClientError) -> None:
        if self._call is None:
            return
        if isinstance(exc, ApiError) and exc.status in (401, 403, 404):
            log.info("the call can no longer be followed: %s", exc.code)
            self._call = None
            self.call_failed.emit(str(exc.code), error_message(exc))
            return
        self._failures += 1
        delay = self._network_retry_ms[min(self._failures, len(self._network_retry_ms)) - 1]
        self.call_unreachable.emit(error_message(exc))
        self._poll_timer.start(delay)
