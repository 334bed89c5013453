"""Verification without disclosure: the agent types what the customer says, the server answers match or not."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QLineEdit, QPushButton, QWidget

from agent_client.views.accessibility import MaskedLineEdit
from agent_client.views.labels import locked_label
from shared.calls import VerifyResponse
from shared.limits import LIMITS
from shared.protocol import VerifyFieldView

__all__ = ["VerifyPanel"]


class VerifyPanel(QWidget):
    """One input and a Verify button per ``verify_only`` field; the stored value is never shown or sent here.

    The typed value is cleared after each try and is never logged.

    Args:
        fields: The record's ``verify_only`` fields.
        parent: Qt parent.

    Signals:
        verify_requested(str, str): Check this value for this field (field name, typed value).
    """

    verify_requested = Signal(str, str)

    def __init__(self, fields: tuple[VerifyFieldView, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edits: dict[str, QLineEdit] = {}
        self.buttons: dict[str, QPushButton] = {}
        self.results: dict[str, QLabel] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for row, field in enumerate(fields):
            edit = MaskedLineEdit()
            edit.setMaxLength(LIMITS.max_verify_chars)
            edit.setPlaceholderText(self.tr("What the customer says"))
            edit.setAccessibleName(self.tr("Value to verify"))
            button = QPushButton(self.tr("Verify"))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            result = locked_label("", self.tr("Verification result"))
            name = field.name
            button.clicked.connect(lambda _checked=False, name=name: self._on_verify(name))
            edit.returnPressed.connect(lambda name=name: self._on_verify(name))
            grid.addWidget(locked_label(field.label, self.tr("Field name")), row, 0)
            grid.addWidget(edit, row, 1)
            grid.addWidget(button, row, 2)
            grid.addWidget(result, row, 3)
            self.edits[name] = edit
            self.buttons[name] = button
            self.results[name] = result

    def show_result(self, response: VerifyResponse) -> None:
        """Show match or no match and the tries left; no tries left disables the field."""
        label = self.results.get(response.field)
        if label is None:
            return
        if response.match:
            text = self.tr("✔ Matches")
        else:
            text = self.tr("✘ Does not match ({tries} tries left)").format(tries=response.tries_left)
        label.setText(text)
        done = response.match or response.tries_left == 0
        self.edits[response.field].setEnabled(not done)
        self.buttons[response.field].setEnabled(not done)

    def show_refused(self, field: str, message: str, *, final: bool) -> None:
        """Show why a try was refused; ``final`` (no tries left) disables the field."""
        label = self.results.get(field)
        if label is None:
            return
        label.setText(message)
        self.edits[field].setEnabled(not final)
        self.buttons[field].setEnabled(not final)

    def _on_verify(self, name: str) -> None:
        edit = self.edits[name]
        value = edit.text().strip()
        edit.clear()
        if not value or not self.buttons[name].isEnabled():
            return
        self.buttons[name].setEnabled(False)
        self.verify_requested.emit(name, value)
