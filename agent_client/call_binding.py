"""Connects the call service to whichever record window is open; the controller owns both."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from agent_client.call_service import CallService
from shared.calls import CallView, VerifyResponse
from shared.errors import ErrorCode

if TYPE_CHECKING:  # imported when the first record window is built, after login: not at start-up
    from agent_client.views.record_window import RecordWindow

__all__ = ["CallBinding"]


class CallBinding(QObject):
    """Routes call and verification answers to the record window, and the window's requests to the service.

    Args:
        calls: The call service of the deployment.
        window: Returns the record window on screen, or None between sessions.
        end_session: Ends the session with a message (a call refused with a session-ending code).
        session_ending: The codes that end the session.
        parent: Qt parent.
    """

    def __init__(
        self,
        calls: CallService,
        *,
        window: Callable[[], RecordWindow | None],
        end_session: Callable[[str], None],
        session_ending: frozenset[str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._calls = calls
        self._window = window
        self._end_session = end_session
        self._session_ending = session_ending
        calls.call_updated.connect(self.on_call_updated)
        calls.call_failed.connect(self.on_call_failed)
        calls.call_unreachable.connect(self.on_call_unreachable)
        calls.verified.connect(self.on_verified)
        calls.verify_failed.connect(self.on_verify_failed)

    def attach(self, window: RecordWindow) -> None:
        """Send a new record window's call, hang-up and verify requests to the service."""
        window.call_requested.connect(self._calls.place_call)
        window.hang_up_requested.connect(self._calls.hang_up)
        window.verify_requested.connect(self._calls.verify)

    def on_call_updated(self, call: CallView) -> None:
        """Show a call's state in the record window."""
        if (window := self._window()) is not None:
            window.show_call(call)

    def on_call_failed(self, code: str, message: str) -> None:
        """A call was refused: say why in the call panel (a session-ending code ends the session)."""
        if (window := self._window()) is None:
            return
        if code in self._session_ending:
            self._end_session(message)
        else:
            window.show_call_refused(message)

    def on_call_unreachable(self, message: str) -> None:
        """The network failed while following a call; polling goes on."""
        if (window := self._window()) is not None:
            window.show_call_refused(message)

    def on_verified(self, response: VerifyResponse) -> None:
        """Show a verification's answer."""
        if (window := self._window()) is not None:
            window.show_verify_result(response)

    def on_verify_failed(self, field: str, code: str, message: str) -> None:
        """Show why a verification was refused (no tries left locks the field)."""
        if (window := self._window()) is not None:
            window.show_verify_refused(field, message, final=code == ErrorCode.VERIFY_EXHAUSTED)
