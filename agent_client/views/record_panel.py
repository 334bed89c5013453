"""The content of the record window for one record: fields, call controls, verification, note and outcomes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QVBoxLayout, QWidget

from agent_client.outcome import OutcomeDraft
from agent_client.views.call_panel import CallPanel
from agent_client.views.callback_dialog import CallbackDialog
from agent_client.views.labels import locked_label
from agent_client.views.outcome_panel import OutcomePanel
from agent_client.views.verify_panel import VerifyPanel
from shared.calls import CallState, CallView, VerifyResponse
from shared.protocol import FieldView, RecordView

__all__ = ["RecordPanel"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RecordPanel(QWidget):
    """Everything on screen for one leased record.

    ``after_answer`` fields arrive with the call (``CallView.fields``) and are
    shown only while the customer's leg is answered; they are wiped when it
    ends. The outcome buttons are enabled once a call ended or the agent said
    why there was no call.

    Args:
        record: The leased record.
        clock: The current aware time (for the callback picker).
        monotonic: Monotonic seconds (the call timer).
        parent: Qt parent.

    Signals:
        call_requested(str): Dial the record (lease id).
        hang_up_requested(str): End the call (call id).
        verify_requested(str, str, str): Verify a field (lease id, field, typed value).
        outcome_chosen(object): An :class:`OutcomeDraft` to record.
    """

    call_requested = Signal(str)
    hang_up_requested = Signal(str)
    verify_requested = Signal(str, str, str)
    outcome_chosen = Signal(object)

    def __init__(
        self,
        record: RecordView,
        *,
        clock: Callable[[], datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._record = record
        self._clock = clock
        self.callback_dialog: CallbackDialog | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(locked_label(record.campaign, self.tr("Campaign")))
        form = QFormLayout()
        for field in record.fields:
            form.addRow(locked_label(field.label, self.tr("Field name")), locked_label(field.value, field.label))
        form.addRow(
            locked_label(self.tr("Phone"), self.tr("Field name")), locked_label(record.phone_mask, self.tr("Phone"))
        )
        layout.addLayout(form)
        self.answer_box = QGroupBox(self.tr("Shown only while the customer is on the line"))
        self._answer_form = QFormLayout(self.answer_box)
        self._answer_hint = locked_label("", self.tr("Status"))
        self._answer_form.addRow(self._answer_hint)
        self.answer_box.setVisible(record.after_answer_fields > 0)  # fields may still come: the policy decides
        self._set_answer_fields(())
        layout.addWidget(self.answer_box)
        self.verify_panel: VerifyPanel | None = None
        if record.verify_fields:
            box = QGroupBox(self.tr("Verify with the customer"))
            self.verify_panel = VerifyPanel(record.verify_fields)
            self.verify_panel.verify_requested.connect(self._on_verify)
            QVBoxLayout(box).addWidget(self.verify_panel)
            layout.addWidget(box)
        if record.script:
            script = locked_label(record.script, self.tr("Script"))
            script.setWordWrap(True)
            layout.addWidget(script, 1)
        self.call_panel = CallPanel(monotonic=monotonic)
        self.call_panel.call_requested.connect(lambda: self.call_requested.emit(record.lease_id))
        self.call_panel.hang_up_requested.connect(self.hang_up_requested)
        layout.addWidget(self.call_panel)
        self.outcome_panel = OutcomePanel(record.dispositions)
        self.call_panel.outcome_allowed_changed.connect(self.outcome_panel.set_allowed)
        self.outcome_panel.chosen.connect(self._on_outcome)
        layout.addWidget(self.outcome_panel)

    def show_call(self, call: CallView) -> None:
        """Show the call's state; the after_answer fields while answered, none otherwise."""
        if call.lease_id != self._record.lease_id:
            return
        self.call_panel.show_call(call)
        self._set_answer_fields(call.fields if call.state is CallState.ANSWERED else ())

    def show_call_refused(self, message: str) -> None:
        """A call request was refused or failed."""
        self.call_panel.show_refused(message)

    def show_verify_result(self, response: VerifyResponse) -> None:
        """Show a verification's answer."""
        if self.verify_panel is not None:
            self.verify_panel.show_result(response)

    def show_verify_refused(self, field: str, message: str, *, final: bool) -> None:
        """Show why a verification was refused."""
        if self.verify_panel is not None:
            self.verify_panel.show_refused(field, message, final=final)

    def wipe(self) -> None:
        """Clear every value this panel holds (it is leaving the screen)."""
        self.call_panel.stop()
        self.outcome_panel.wipe()
        self._set_answer_fields(())
        if self.callback_dialog is not None:
            self.callback_dialog.reject()

    def _set_answer_fields(self, fields: tuple[FieldView, ...]) -> None:
        while self._answer_form.rowCount() > 1:
            self._answer_form.removeRow(1)
        for field in fields:
            name, value = locked_label(field.label, self.tr("Field name")), locked_label(field.value, field.label)
            self._answer_form.addRow(name, value)
            name.show()
            value.show()
        if fields:
            self.answer_box.show()
        count = self._record.after_answer_fields
        hint = "" if fields else self.tr("{count} more field(s) appear when the customer answers.").format(count=count)
        self._answer_hint.setText(hint)
        self._answer_hint.setVisible(not fields)

    def _on_verify(self, field: str, value: str) -> None:
        self.verify_requested.emit(self._record.lease_id, field, value)

    def _on_outcome(self, code: str) -> None:
        if code == self._record.callback_code:
            dialog = CallbackDialog(self._record.timezone, clock=self._clock, parent=self)
            dialog.accepted.connect(lambda: self._emit(code, dialog))
            self.callback_dialog = dialog
            dialog.open()
            return
        self._emit(code, None)

    def _emit(self, code: str, dialog: CallbackDialog | None) -> None:
        self.callback_dialog = None
        call_id = self.call_panel.call_id
        self.outcome_chosen.emit(
            OutcomeDraft(
                lease_id=self._record.lease_id,
                code=code,
                notes=self.outcome_panel.notes(),
                callback_at=dialog.chosen_time() if dialog else None,
                callback_for=dialog.chosen_for() if dialog else None,
                call_id=call_id,
                no_call_reason=None if call_id else self.call_panel.no_call_reason,
            )
        )
