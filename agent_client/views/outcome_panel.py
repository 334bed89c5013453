"""The outcome part of the record window: the agent's note and the outcome buttons with their keys."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from agent_client.views.accessibility import MaskedPlainTextEdit
from agent_client.views.labels import locked_label
from shared.limits import LIMITS
from shared.phone_text import contains_phone_number
from shared.protocol import DispositionOption

__all__ = ["OutcomePanel"]


class OutcomePanel(QWidget):
    """A length-limited note and one button per outcome, enabled only when an outcome may be recorded.

    The note accepts typing but no mouse selection (so nothing is dragged out
    of it); the window's copy guard blocks copy, cut and select-all keys. A
    note holding a phone number is refused before it leaves.

    Args:
        dispositions: The campaign's outcomes.
        parent: Qt parent.

    Signals:
        chosen(str): An outcome was pressed while allowed, with a valid note (the code).
    """

    chosen = Signal(str)

    def __init__(self, dispositions: tuple[DispositionOption, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.notes_edit = MaskedPlainTextEdit()
        self.notes_edit.setPlaceholderText(self.tr("Notes (optional)"))
        self.notes_edit.setAccessibleName(self.tr("Notes"))
        self.notes_edit.setTabChangesFocus(True)
        self.notes_edit.setFixedHeight(64)
        self.notes_edit.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextEditable | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.notes_edit.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        self.notes_edit.setAcceptDrops(False)
        self.notes_edit.textChanged.connect(self._on_notes_changed)
        self.counter_label = locked_label("", self.tr("Notes length"))
        self.warning_label = locked_label("", self.tr("Notes warning"))
        self.warning_label.setWordWrap(True)
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for index, option in enumerate(dispositions):
            row.addWidget(self._button(option, index))
        info = QHBoxLayout()
        info.addWidget(self.warning_label, 1)
        info.addWidget(self.counter_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.notes_edit)
        layout.addLayout(info)
        layout.addLayout(row)
        self._allowed = False
        self._on_notes_changed()
        self.set_allowed(False)

    def notes(self) -> str:
        """The note as typed, trimmed."""
        return self.notes_edit.toPlainText().strip()

    def set_allowed(self, allowed: bool) -> None:
        """Enable or disable the outcome buttons (and their keys)."""
        self._allowed = allowed
        for button in self.buttons.values():
            button.setEnabled(allowed)

    def wipe(self) -> None:
        """Clear the note (the record is leaving the screen)."""
        self.notes_edit.clear()

    def _button(self, option: DispositionOption, index: int) -> QPushButton:
        key = option.shortcut or (str(index + 1) if index < 9 else "")
        button = QPushButton(f"{option.label} [{key}]" if key else option.label)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setAccessibleName(option.label)
        button.clicked.connect(lambda: self._choose(option.code))
        if key:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda: self._choose(option.code))
        self.buttons[option.code] = button
        return button

    def _choose(self, code: str) -> None:
        if not self._allowed:
            self.warning_label.setText(self.tr("Call first, or choose why you could not call."))
            return
        if len(self.notes()) > LIMITS.max_notes_chars:
            return
        if contains_phone_number(self.notes(), "PL"):
            self.warning_label.setText(self.tr("Remove the phone number from the notes: notes may not hold one."))
            return
        self.chosen.emit(code)

    def _on_notes_changed(self) -> None:
        length = len(self.notes_edit.toPlainText())
        self.counter_label.setText(f"{length}/{LIMITS.max_notes_chars}")
        if length > LIMITS.max_notes_chars:
            self.warning_label.setText(self.tr("The note is too long."))
        elif contains_phone_number(self.notes(), "PL"):
            self.warning_label.setText(self.tr("Remove the phone number from the notes: notes may not hold one."))
        else:
            self.warning_label.setText("")
