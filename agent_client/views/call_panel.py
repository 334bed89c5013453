"""The call controls of the record window: Call, Hang up, "could not call", the state and a timer."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from agent_client.messages import call_state_text, no_call_reason_texts
from agent_client.views.labels import locked_label
from shared.calls import CallState, CallView
from shared.protocol import NoCallReason

__all__ = ["CALL_KEY", "HANG_UP_KEY", "CallPanel"]

#: The key that places the call.
CALL_KEY = "F9"
#: The key that ends it.
HANG_UP_KEY = "F10"


def _clock_text(seconds: float) -> str:
    whole = max(int(seconds), 0)
    minutes, secs = divmod(whole, 60)
    return f"{minutes:02d}:{secs:02d}"


class CallPanel(QWidget):
    """Call / Hang up with keys, "Could not call" reasons, the call's state and a running timer.

    The panel never sees a number: the owner's telephony dials. It says whether
    an outcome may now be recorded (:attr:`outcome_allowed`): after a call
    ended, or once the agent said why there was no call.

    Args:
        monotonic: Monotonic seconds for the timer (injected for tests).
        parent: Qt parent.

    Signals:
        call_requested(): The agent pressed Call.
        hang_up_requested(str): The agent pressed Hang up (call id).
        no_call_chosen(str): The agent said why there is no call (a :class:`NoCallReason` value).
        outcome_allowed_changed(bool): Whether an outcome may be recorded now.
        answered_changed(bool): The customer's leg became answered (True) or stopped being so.
    """

    call_requested = Signal()
    hang_up_requested = Signal(str)
    no_call_chosen = Signal(str)
    outcome_allowed_changed = Signal(bool)
    answered_changed = Signal(bool)

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._monotonic = monotonic
        self._call: CallView | None = None
        self._since = 0.0
        self._answered = False
        self._outcome_allowed = False
        self._requesting = False
        self.call_button = QPushButton(self.tr("Call [{key}]").format(key=CALL_KEY))
        self.hang_up_button = QPushButton(self.tr("Hang up [{key}]").format(key=HANG_UP_KEY))
        self.no_call_box = QComboBox()
        self.no_call_box.setAccessibleName(self.tr("Could not call"))
        self.no_call_box.addItem(self.tr("Could not call…"), None)
        for reason, text in no_call_reason_texts().items():
            self.no_call_box.addItem(text, reason.value)
        self.state_label = locked_label(self.tr("Not called yet"), self.tr("Call state"))
        self.timer_label = locked_label("", self.tr("Call time"))
        for button in (self.call_button, self.hang_up_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hang_up_button.setEnabled(False)
        self.call_button.clicked.connect(self._on_call)
        self.hang_up_button.clicked.connect(self._on_hang_up)
        self.no_call_box.activated.connect(self._on_no_call)
        for key, slot in ((CALL_KEY, self._on_call), (HANG_UP_KEY, self._on_hang_up)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update_timer)
        # The state (or a refusal, which may be long in Polish) wraps on its own row: nothing is clipped.
        self.state_label.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(self.call_button)
        controls.addWidget(self.hang_up_button)
        controls.addWidget(self.timer_label)
        controls.addStretch(1)
        controls.addWidget(self.no_call_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.state_label)

    @property
    def outcome_allowed(self) -> bool:
        """Whether an outcome may be recorded: a call ended, or a no-call reason was given."""
        return self._outcome_allowed

    @property
    def call_id(self) -> str | None:
        """The id of the last call of this record, if one was placed."""
        return self._call.call_id if self._call else None

    @property
    def no_call_reason(self) -> NoCallReason | None:
        """The reason the agent gave for not calling, if any (and no call was placed since)."""
        value = self.no_call_box.currentData()
        return NoCallReason(value) if value and self._call is None else None

    def show_call(self, call: CallView) -> None:
        """Show a call's state as the server said; starts or stops the timer."""
        previous = self._call.state if self._call else None
        self._call = call
        self._requesting = False
        if call.state != previous:
            self._since = self._monotonic()
        live = call.state is not CallState.ENDED
        self.call_button.setEnabled(not live)
        self.hang_up_button.setEnabled(live)
        self.no_call_box.setEnabled(not live)
        self.state_label.setText(call_state_text(call))
        if live:
            self._tick.start()
        else:
            self._tick.stop()
        self._update_timer()
        self._set_answered(call.state is CallState.ANSWERED)
        self._set_outcome_allowed(not live)

    def show_refused(self, message: str) -> None:
        """A call could not be placed: say why and allow another try or a no-call reason."""
        self._requesting = False
        live = self._call is not None and self._call.state is not CallState.ENDED
        self.call_button.setEnabled(not live)
        self.state_label.setText(message)

    def stop(self) -> None:
        """Stop the timer (the record is leaving the screen)."""
        self._tick.stop()

    def _on_call(self) -> None:
        if not self.call_button.isEnabled() or self._requesting:
            return
        self._requesting = True
        self.call_button.setEnabled(False)
        self.state_label.setText(self.tr("Asking the telephone system to dial…"))
        self.call_requested.emit()

    def _on_hang_up(self) -> None:
        if self.hang_up_button.isEnabled() and self._call is not None:
            self.hang_up_button.setEnabled(False)
            self.hang_up_requested.emit(self._call.call_id)

    def _on_no_call(self, index: int) -> None:
        value = self.no_call_box.itemData(index)
        if value is None:
            return
        self.no_call_chosen.emit(str(value))
        if self._call is None:
            self._set_outcome_allowed(True)

    def _update_timer(self) -> None:
        call = self._call
        if call is None:
            self.timer_label.setText("")
            return
        if call.state is CallState.ENDED:
            self.timer_label.setText(_clock_text(call.talk_s) if call.talk_s else "")
        else:
            self.timer_label.setText(_clock_text(self._monotonic() - self._since))

    def _set_answered(self, answered: bool) -> None:
        if answered != self._answered:
            self._answered = answered
            self.answered_changed.emit(answered)

    def _set_outcome_allowed(self, allowed: bool) -> None:
        if allowed != self._outcome_allowed:
            self._outcome_allowed = allowed
            self.outcome_allowed_changed.emit(allowed)
