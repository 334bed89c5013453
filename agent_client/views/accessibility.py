"""What record widgets tell accessibility and UI-automation clients (AT-SPI on Linux, UIA on Windows).

Qt serves both from one accessible interface per widget. For a plain
:class:`QLabel` that interface names the label by its text, and for an edit it
adds a text interface any automation client can read the content through. A
scraper could walk the tree and read every record without touching the
screen.

Here the widgets that hold record text get an interface of their own (a
factory registered with :meth:`QAccessible.installFactory`): its name is a
neutral label ("First name", "Script"), its value and description are empty
and it has no text, value or editable-text interface. With the deployment's
``screen_reader_mode`` a :class:`LockedLabel` names itself by what it shows
on screen (never a value the policy hides: the client does not have one), so
a blind agent's screen reader can read it; the client reports that setting to
the server, which audits it.

Source: Qt 6 "Accessibility for QWidget Applications" and
``QAccessible::installFactory`` / ``QAccessibleInterface`` reference.
"""

from __future__ import annotations

from typing import ClassVar

import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtGui import QAccessible, QAccessibleEvent, QAccessibleInterface
from PySide6.QtWidgets import QAccessibleWidget, QLabel, QLineEdit, QPlainTextEdit, QWidget

__all__ = ["LockedLabel", "MaskedLineEdit", "MaskedPlainTextEdit", "screen_reader_mode", "set_screen_reader_mode"]

_EDITORS = frozenset({"MaskedLineEdit", "MaskedPlainTextEdit"})


class _Mode:
    screen_reader = False
    installed = False
    # The interfaces made here, held until Qt deletes them with their widget: Qt's cache keeps only the
    # C++ pointer, so a Python-made interface must not be collected while it is cached.
    made: ClassVar[list[QAccessibleInterface]] = []


def set_screen_reader_mode(enabled: bool) -> None:
    """Whether record labels expose their visible text (set from the deployment config before windows open)."""
    _Mode.screen_reader = enabled
    _install()


def screen_reader_mode() -> bool:
    """Whether record labels expose their visible text to accessibility clients."""
    return _Mode.screen_reader


class LockedLabel(QLabel):
    """A label of record text whose accessible interface is neutral unless the screen-reader mode is on.

    Args:
        neutral_name: What accessibility clients read by default (a field's
            name, "Script", "Status": never a record value).
        parent: Qt parent.
    """

    def __init__(self, neutral_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.neutral_name = neutral_name
        _install()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        """Show ``text``; in screen-reader mode tell the screen reader the name changed."""
        super().setText(text)
        if _Mode.screen_reader and QAccessible.isActive():
            QAccessible.updateAccessibility(QAccessibleEvent(self, QAccessible.Event.NameChanged))


class MaskedLineEdit(QLineEdit):
    """A line edit (a value to verify) whose typed text accessibility clients cannot read.

    Its interface keeps the accessible name and the role but has no text; in
    screen-reader mode it is Qt's own.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        _install()
        super().__init__(parent)


class MaskedPlainTextEdit(QPlainTextEdit):
    """A text edit (the agent's note) whose text accessibility clients cannot read, as :class:`MaskedLineEdit`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        _install()
        super().__init__(parent)


class _NeutralInterface(QAccessibleWidget):
    """A widget's interface that names it by a neutral label and exposes no text, value or description."""

    def __init__(self, widget: QWidget, role: QAccessible.Role, label: LockedLabel | None) -> None:
        super().__init__(widget, role)
        self._label = label

    def text(self, kind: QAccessible.Text) -> str:  # noqa: D102 - Qt override
        label = self._label
        widget = self.widget()
        reading = label is not None and _Mode.screen_reader and label.isVisible()
        if widget is None or kind not in (QAccessible.Text.Name, QAccessible.Text.Description):
            return ""
        if kind is QAccessible.Text.Description:
            return label.neutral_name if reading and label is not None else ""
        if label is None:
            return widget.accessibleName()
        return label.text() if reading else label.neutral_name


def _factory(class_name: str, obj: QObject) -> QAccessibleInterface | None:
    if class_name == "LockedLabel" and isinstance(obj, LockedLabel):
        return _keep(_NeutralInterface(obj, QAccessible.Role.StaticText, obj))
    if class_name in _EDITORS and isinstance(obj, (MaskedLineEdit, MaskedPlainTextEdit)) and not _Mode.screen_reader:
        return _keep(_NeutralInterface(obj, QAccessible.Role.EditableText, None))
    return None


def _keep(interface: QAccessibleInterface) -> QAccessibleInterface:
    _Mode.made = [kept for kept in _Mode.made if shiboken6.isValid(kept)]
    _Mode.made.append(interface)
    return interface


def _install() -> None:
    if not _Mode.installed:
        QAccessible.installFactory(_factory)
        _Mode.installed = True
