"""The record window: one record, read-only, uncopyable, watermarked."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import shiboken6
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QClipboard, QCloseEvent, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent_client.messages import idle_message, pending_message, quota_texts
from agent_client.outcome import OutcomeDraft
from agent_client.views.copy_guard import CopyGuard
from agent_client.views.labels import locked_label
from agent_client.views.record_panel import RecordPanel
from agent_client.views.watermark import CODE_MARGIN, WatermarkOverlay
from shared.calls import CallView, VerifyResponse
from shared.protocol import IdleReason, QuotaView, RecordView

__all__ = ["MIN_LIMIT_WAIT_MS", "MIN_POLL_S", "RecordWindow"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


MIN_POLL_S = 3
"""Shortest wait before asking again for a record."""
MIN_LIMIT_WAIT_MS = 1000
"""Shortest wait before asking again once a limit was reached (a ``retry_at`` already past)."""
_MAX_TIMER_MS = 2**31 - 1


class RecordWindow(QWidget):
    """Shows the one leased record and the outcome buttons.

    Args:
        agent_login: The logged-in agent, shown in the header and the watermark.
        organisation: The owner organisation, shown in the header.
        clipboard: The application clipboard, wiped on copy attempts.
        clock: Local time for the watermark (injected for tests).
        monotonic: Monotonic seconds for display durations and the call timer (injected for tests).
        utc_clock: The current aware time, for the callback picker (injected for tests).
        parent: Qt parent.

    Signals:
        record_shown(str): A record with this lease id is now on screen.
        record_hidden(str, int): The record left the screen after that many milliseconds.
        outcome_chosen(OutcomeDraft): The agent chose an outcome (with note, callback, call or no-call reason).
        call_requested(str): Dial the record on screen (lease id).
        hang_up_requested(str): End the call (call id).
        verify_requested(str, str, str): Verify a field (lease id, field name, typed value).
        next_record_requested(): Time (or the agent) asks for the next record.
        logout_requested(): The agent asked to log out.
        attempt_blocked(str): A copy/print/save/select-all/capture attempt was
            blocked (a :class:`shared.protocol.BlockedAction` value), record or not.
        action_blocked(str, str): Such an attempt while a record was on screen
            (lease id, blocked action).
        focus_changed(str, bool): While a record is on screen, the window lost
            (True) or regained (False) the focus; each change is emitted once,
            and a record that appears in an inactive window starts as lost.
        closed(): The window was closed.
    """

    record_shown = Signal(str)
    record_hidden = Signal(str, int)
    outcome_chosen = Signal(object)
    call_requested = Signal(str)
    hang_up_requested = Signal(str)
    verify_requested = Signal(str, str, str)
    next_record_requested = Signal()
    logout_requested = Signal()
    attempt_blocked = Signal(str)
    action_blocked = Signal(str, str)
    focus_changed = Signal(str, bool)
    closed = Signal()

    def __init__(
        self,
        agent_login: str,
        organisation: str,
        clipboard: QClipboard,
        *,
        clock: Callable[[], datetime] = datetime.now,
        monotonic: Callable[[], float] = time.monotonic,
        utc_clock: Callable[[], datetime] = _utc_now,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._monotonic = monotonic
        self._utc_clock = utc_clock
        self._record: RecordView | None = None
        self._shown_at = 0.0
        self._focus_lost = False
        self._content: RecordPanel | None = None
        self._retired: list[QWidget] = []
        self.setWindowTitle(self.tr("Custos — {organisation}").format(organisation=organisation))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        self.resize(720, 560)

        self._guard = CopyGuard(clipboard, self)
        self._guard.attempt_blocked.connect(self._on_guard_attempt_blocked)
        self._poll_timer = QTimer(self)
        self._poll_timer.setSingleShot(True)
        # A coarse timer may fire up to 5 % early: before a limit's retry_at.
        self._poll_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._poll_timer.timeout.connect(self.next_record_requested)

        header = QHBoxLayout()
        header.addWidget(locked_label(self.tr("Agent: {login}").format(login=agent_login), self.tr("Agent")))
        header.addStretch(1)
        self._hour_count = locked_label("", self.tr("Records this hour"))
        self._day_count = locked_label("", self.tr("Records today"))
        for count in (self._hour_count, self._day_count):
            count.hide()
            header.addWidget(count)
            header.addSpacing(16)
        self._logout_button = QPushButton(self.tr("Log out"))
        self._logout_button.clicked.connect(self.logout_requested)
        header.addWidget(self._logout_button)

        self._area = QFrame()
        self._area.setFrameShape(QFrame.Shape.StyledPanel)
        self._area_layout = QVBoxLayout(self._area)
        self._waiting = self._build_waiting_panel()
        self._area_layout.addWidget(self._waiting)
        self._watermark = WatermarkOverlay(self._area, agent_login, clock)
        self._area_margins = self._area_layout.contentsMargins()

        self._notice = locked_label("", self.tr("Notice"))
        self._notice.setWordWrap(True)
        self._notice.hide()

        self._update_notice = locked_label("", self.tr("Update"))
        self._update_notice.setWordWrap(True)
        self._update_notice.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self._update_notice)
        layout.addWidget(self._notice)
        layout.addWidget(self._area, 1)
        self._guard.guard(self)

    @property
    def current_lease_id(self) -> str | None:
        """The lease id of the record on screen, if any."""
        return self._record.lease_id if self._record else None

    @property
    def watermark_text(self) -> str:
        """The text of the watermark drawn over the record area."""
        return self._watermark.text()

    @property
    def watermark(self) -> WatermarkOverlay:
        """The watermark over the record area (text, and the record's signed QR)."""
        return self._watermark

    def _mark_issue(self, record: RecordView | None) -> None:
        """Name the record's lease in the watermark and draw its signed code; keep the code's column free."""
        self._watermark.set_issue(record.lease_id if record else None, record.watermark_code if record else None)
        side, m = self._watermark.code_side(), self._area_margins
        right = m.right() + (side + CODE_MARGIN if side else 0)
        self._area_layout.setContentsMargins(m.left(), m.top(), right, m.bottom())

    def show_record(self, record: RecordView) -> None:
        """Put ``record`` on screen (replacing any other) and emit ``record_shown``."""
        self._poll_timer.stop()
        self._remove_record()
        self._waiting.hide()
        self._guard.wipe_clipboard()
        self._record = record
        self._mark_issue(record)
        self._content = self._build_record_panel(record)
        self._area_layout.addWidget(self._content)
        self._content.show()
        self._shown_at = self._monotonic()
        self._focus_lost = False
        self.record_shown.emit(record.lease_id)
        if self.isVisible() and not self.isActiveWindow():
            self._report_focus(lost=True)

    def show_waiting(self, message: str = "", poll_after_s: int | None = None) -> None:
        """Take any record off screen and show ``message``.

        Args:
            message: What the agent reads; a default waiting text if empty.
            poll_after_s: Ask for the next record after this many seconds (at
                least :data:`MIN_POLL_S`); never by itself if None.
        """
        self._remove_record()
        self._waiting_label.setText(message or self.tr("Waiting for the next record…"))
        self._waiting.show()
        self._next_button.setEnabled(True)
        self._poll_timer.stop()
        if poll_after_s is not None:
            self._poll_timer.start(max(poll_after_s, MIN_POLL_S) * 1000)

    def show_idle(self, reason: IdleReason | None, poll_after_s: int) -> None:
        """No record was issued: say why (no customer now, outside calling hours) and ask again later."""
        self.show_waiting(idle_message(reason), poll_after_s=poll_after_s)

    def show_quota(self, quota: QuotaView | None) -> None:
        """Show the agent's counts against the hourly and daily limits (hidden if None)."""
        if quota is None:
            self._hour_count.hide()
            self._day_count.hide()
            return
        hour, day = quota_texts(quota)
        self._hour_count.setText(hour)
        self._day_count.setText(day)
        self._hour_count.show()
        self._day_count.show()

    def show_notice(self, message: str) -> None:
        """Show ``message`` above the record area until replaced or cleared with ""."""
        self._notice.setText(message)
        self._notice.setVisible(bool(message))

    def show_update_notice(self, version: str, outcome: str) -> None:
        """Say, without interrupting work, that verified ``version`` is ready (``outcome``: an UpdateOutcome value)."""
        if outcome == "install_on_exit":
            text = self.tr("Custos {version} is ready and installs when you close the client.")
        else:
            text = self.tr("Custos {version} is available; your IT installs it. Restart the client when asked.")
        self._update_notice.setText(text.format(version=version))
        self._update_notice.show()

    def show_call(self, call: CallView) -> None:
        """Show a call's state on the record it belongs to (ignored once that record left)."""
        if self._content is not None:
            self._content.show_call(call)

    def show_call_refused(self, message: str) -> None:
        """Say why the call could not be placed or followed."""
        if self._content is not None:
            self._content.show_call_refused(message)

    def show_verify_result(self, response: VerifyResponse) -> None:
        """Show the server's answer to a verification."""
        if self._content is not None:
            self._content.show_verify_result(response)

    def show_verify_refused(self, field: str, message: str, *, final: bool) -> None:
        """Show why a verification was refused (``final``: no tries left)."""
        if self._content is not None:
            self._content.show_verify_refused(field, message, final=final)

    def show_pending(self, outcomes: int, events: int) -> None:
        """With no record on screen, say what waits for the server; nothing is asked for until it is sent."""
        if outcomes or events:
            self.set_busy(pending_message(outcomes, events))

    @property
    def panel(self) -> RecordPanel | None:
        """The content of the record on screen, if any."""
        return self._content

    def show_limit_reached(self, message: str, retry_in_ms: int) -> None:
        """Take any record off screen, show ``message`` and ask again once, after ``retry_in_ms``.

        The "Next record" button stays disabled meanwhile: asking before the
        server's time would only be refused again.

        Args:
            message: The limit and when the next record comes.
            retry_in_ms: Milliseconds until the server's ``retry_at`` (at least
                :data:`MIN_LIMIT_WAIT_MS` is waited, at most what a timer holds, ~24 days).
        """
        self.set_busy(message)
        self._poll_timer.start(min(max(retry_in_ms, MIN_LIMIT_WAIT_MS), _MAX_TIMER_MS))

    def set_busy(self, message: str) -> None:
        """Show ``message`` with no record and no way to ask for one until told otherwise."""
        self.show_waiting(message)
        self._next_button.setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Take the record off screen, then report the close."""
        self._poll_timer.stop()
        self._remove_record()
        self.closed.emit()
        super().closeEvent(event)

    def event(self, event: QEvent) -> bool:
        """Report activation changes of the window while a record is shown.

        The window is deactivated both when another window takes the focus and
        when the whole application goes to the background.
        """
        kind = event.type()
        if kind == QEvent.Type.WindowDeactivate:
            self._report_focus(lost=True)
        elif kind == QEvent.Type.WindowActivate:
            self._report_focus(lost=False)
        return super().event(event)

    def _build_waiting_panel(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        self._waiting_label = locked_label(self.tr("Waiting for the next record…"), self.tr("Status"))
        self._waiting_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._waiting_label.setWordWrap(True)
        self._next_button = QPushButton(self.tr("Next record"))
        self._next_button.clicked.connect(self._on_next_button_clicked)
        layout.addStretch(1)
        layout.addWidget(self._waiting_label)
        layout.addWidget(self._next_button, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(1)
        return panel

    def _build_record_panel(self, record: RecordView) -> RecordPanel:
        panel = RecordPanel(record, clock=self._utc_clock, monotonic=self._monotonic)
        panel.call_requested.connect(self.call_requested)
        panel.hang_up_requested.connect(self.hang_up_requested)
        panel.verify_requested.connect(self.verify_requested)
        panel.outcome_chosen.connect(self._choose)
        return panel

    def _choose(self, draft: OutcomeDraft) -> None:
        if self.current_lease_id != draft.lease_id:
            return
        self.show_notice("")
        self.set_busy(self.tr("Saving the outcome…"))
        self.outcome_chosen.emit(draft)

    def _report_focus(self, *, lost: bool) -> None:
        lease_id = self.current_lease_id
        if lease_id is None or lost == self._focus_lost:
            return
        self._focus_lost = lost
        self.focus_changed.emit(lease_id, lost)

    def _on_guard_attempt_blocked(self, action: str) -> None:
        self.attempt_blocked.emit(action)
        lease_id = self.current_lease_id
        if lease_id is not None:
            self.action_blocked.emit(lease_id, action)

    def _on_next_button_clicked(self) -> None:
        self._next_button.setEnabled(False)
        self.next_record_requested.emit()

    def _remove_record(self) -> None:
        record, content = self._record, self._content
        self._record, self._content = None, None
        if record is not None:
            self._mark_issue(None)
        if content is not None:
            for shortcut in content.findChildren(QShortcut):
                shortcut.setEnabled(False)
            content.wipe()
            for label in content.findChildren(QLabel):
                label.clear()
            content.hide()
            content.setParent(None)
            # Out of the tree now; kept referenced until Qt deletes it, since a
            # child of it may be mid-signal (the button or shortcut that was used).
            self._retired = [widget for widget in self._retired if shiboken6.isValid(widget)]
            self._retired.append(content)
            content.deleteLater()
        if record is not None:
            duration_ms = int((self._monotonic() - self._shown_at) * 1000)
            self.record_hidden.emit(record.lease_id, duration_ms)
