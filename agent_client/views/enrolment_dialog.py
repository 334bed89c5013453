"""First-run dialog: the deployment config file and the one-time enrolment code."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["EnrolmentDialog"]


class EnrolmentDialog(QWidget):
    """Collects the deployment config path and the enrolment code.

    Args:
        config_path: A known config path (prefilled); None to let the user pick one.
        parent: Qt parent.

    Signals:
        enrolment_submitted(str, str): Config file path and enrolment code.
    """

    enrolment_submitted = Signal(str, str)

    def __init__(self, config_path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Custos — enrol this computer"))
        intro = QLabel(
            self.tr("Enter the enrolment code your supervisor gave you. It works once and binds this computer to you.")
        )
        intro.setWordWrap(True)
        self.config_edit = QLineEdit(str(config_path) if config_path else "")
        self.config_edit.setAccessibleName(self.tr("Deployment configuration file"))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._on_browse_clicked)
        config_row = QHBoxLayout()
        config_row.addWidget(self.config_edit, 1)
        config_row.addWidget(browse)
        self.code_edit = QLineEdit()
        self.code_edit.setAccessibleName(self.tr("Enrolment code"))
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.submit_button = QPushButton(self.tr("Enrol"))
        self.submit_button.setDefault(True)

        form = QFormLayout()
        form.addRow(self.tr("Configuration file"), config_row)
        form.addRow(self.tr("Enrolment code"), self.code_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(self.submit_button)
        self.code_edit.returnPressed.connect(self._on_form_submitted)
        self.submit_button.clicked.connect(self._on_form_submitted)

    def set_busy(self, busy: bool) -> None:
        """Disable input while enrolment is under way."""
        for widget in (self.config_edit, self.code_edit, self.submit_button):
            widget.setEnabled(not busy)
        if busy:
            self.message_label.setText(self.tr("Enrolling…"))

    def show_error(self, message: str) -> None:
        """Show ``message`` and allow another try."""
        self.set_busy(False)
        self.message_label.setText(message)

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Deployment configuration"), "", self.tr("Configuration (*.toml)")
        )
        if path:
            self.config_edit.setText(path)

    def _on_form_submitted(self) -> None:
        path = self.config_edit.text().strip()
        code = self.code_edit.text().strip()
        if not path or not code:
            self.message_label.setText(self.tr("Choose the configuration file and enter the code."))
            return
        self.set_busy(True)
        self.enrolment_submitted.emit(path, code)
