"""The login window: login and password; Enter submits."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

__all__ = ["LoginWindow"]

MIN_WIDTH = 380
"""Width the window keeps at least, so that messages wrap into readable lines."""


class LoginWindow(QWidget):
    """Asks for the agent's login and password.

    Args:
        organisation: The owner organisation, shown in the title.
        login: The login to prefill (the one the device is bound to).
        parent: Qt parent.

    Signals:
        login_submitted(str, str): The agent submitted login and password.
    """

    login_submitted = Signal(str, str)

    def __init__(self, organisation: str, login: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Custos — log in to {organisation}").format(organisation=organisation))
        self.login_edit = QLineEdit(login)
        self.login_edit.setAccessibleName(self.tr("Login"))
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName(self.tr("Password"))
        self.message_label = QLabel()
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.message_label.setWordWrap(True)
        self.submit_button = QPushButton(self.tr("Log in"))
        self.submit_button.setDefault(True)

        form = QFormLayout()
        form.addRow(self.tr("Login"), self.login_edit)
        form.addRow(self.tr("Password"), self.password_edit)
        self._layout = layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(self.submit_button)
        self.setMinimumWidth(MIN_WIDTH)

        self.login_edit.returnPressed.connect(self._on_form_submitted)
        self.password_edit.returnPressed.connect(self._on_form_submitted)
        self.submit_button.clicked.connect(self._on_form_submitted)
        (self.password_edit if login else self.login_edit).setFocus()

    def set_busy(self, busy: bool) -> None:
        """Disable input while a login is under way."""
        for widget in (self.login_edit, self.password_edit, self.submit_button):
            widget.setEnabled(not busy)
        if busy:
            self._set_message(self.tr("Logging in…"))

    def show_error(self, message: str) -> None:
        """Show ``message``, clear the password and allow another try."""
        self.set_busy(False)
        self.password_edit.clear()
        self._set_message(message)
        self.password_edit.setFocus()

    def _on_form_submitted(self) -> None:
        login = self.login_edit.text().strip()
        password = self.password_edit.text()
        if not login or not password:
            self._set_message(self.tr("Enter your login and password."))
            return
        self.set_busy(True)
        self.login_submitted.emit(login, password)

    def _set_message(self, message: str) -> None:
        """Show ``message`` wrapped, growing the window so that no line is clipped.

        A top-level window does not grow by itself for a wrapped label's
        height-for-width, so the height it needs at its width becomes its minimum.
        """
        self.message_label.setText(message)
        layout = self._layout
        layout.activate()
        needed = layout.totalHeightForWidth(self.width())
        self.setMinimumHeight(max(needed, layout.totalMinimumSize().height()))
        if self.height() < needed:
            self.resize(self.width(), needed)
