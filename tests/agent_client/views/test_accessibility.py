"""Record values are not readable through Qt's accessibility interface (what AT-SPI and UIA serve) unless the
deployment turns the screen-reader mode on, and then only what is on screen."""

from datetime import UTC, datetime

import pytest
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QLabel, QWidget

from agent_client.views.accessibility import set_screen_reader_mode
from agent_client.views.record_window import RecordWindow
from shared.calls import CallView
from shared.protocol import FieldView, VerifyFieldView
from tests.agent_client.agent_fakes import make_record

NOW = datetime(2026, 12, 1, 13, 7, tzinfo=UTC)
VISIBLE = ("Zofia", "Gdańsk", "•••••••4821", "Hello, I am calling about your contract.")
AFTER_ANSWER = FieldView(name="pesel", label="PESEL", value="90013112345")
TYPED_VERIFY = "31.01.1990"
TYPED_NOTE = "Zofia asks for a call on Friday"
TEXTS = (QAccessible.Text.Name, QAccessible.Text.Description, QAccessible.Text.Value, QAccessible.Text.Help)


@pytest.fixture(autouse=True)
def accessibility_on():
    QAccessible.setActive(True)  # as when a screen reader or an automation client listens: interfaces made on events
    yield
    QAccessible.setActive(False)


@pytest.fixture
def screen_reader():
    yield set_screen_reader_mode
    set_screen_reader_mode(False)


def readable(interface):
    """Every string an accessibility client can read from one interface."""
    out = [interface.text(kind) for kind in TEXTS]
    text = interface.textInterface()
    if text is not None:
        out.append(text.text(0, text.characterCount()))
    value = interface.valueInterface()
    if value is not None:
        out.append(str(value.currentValue()))
    return out


def walk(interface, seen=None):
    """The strings of ``interface`` and all its descendants, as a client walking the tree reads them."""
    seen = set() if seen is None else seen
    key = id(interface.object())
    if key in seen:
        return []
    seen.add(key)
    out = readable(interface)
    for index in range(interface.childCount()):
        child = interface.child(index)
        if child is not None and child.isValid():
            out += walk(child, seen)
    return out


def everything(window):
    """The tree walk plus every widget's own interface (hidden ones too)."""
    out = walk(QAccessible.queryAccessibleInterface(window))
    for widget in window.findChildren(QWidget):
        out += readable(QAccessible.queryAccessibleInterface(widget))
    return " | ".join(out)


def working_window(qtbot, qapp):
    window = RecordWindow("agent.one", "Demo Telecom", qapp.clipboard(), utc_clock=lambda: NOW)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    record = make_record().model_copy(
        update={"after_answer_fields": 1, "verify_fields": (VerifyFieldView(name="birth", label="Date of birth"),)}
    )
    window.show_record(record)
    qtbot.keyClicks(window.panel.verify_panel.edits["birth"], TYPED_VERIFY)
    window.panel.outcome_panel.notes_edit.setPlainText(TYPED_NOTE)
    return window


def answered(window):
    window.show_call(
        CallView(call_id="c1", lease_id="lease-1", state="answered", created_at=NOW, fields=(AFTER_ANSWER,))
    )


def test_by_default_no_record_value_is_readable(qtbot, qapp):
    window = working_window(qtbot, qapp)
    answered(window)
    text = everything(window)
    for value in (*VISIBLE, AFTER_ANSWER.value, TYPED_VERIFY, TYPED_NOTE, "4821"):
        assert value not in text
    # What it does say: neutral names, the field names among them (policy, not data).
    for neutral in ("First name", "City", "Script", "Phone", "PESEL", "Notes", "Value to verify"):
        assert neutral in text


def test_a_value_label_is_neutral_whatever_its_widget_properties_say(qtbot, qapp):
    window = working_window(qtbot, qapp)
    label = next(child for child in window.panel.findChildren(QLabel) if child.text() == "Zofia")
    label.setAccessibleName("")  # Qt's own label interface would then read out its text
    label.setToolTip("Zofia")  # ... and its tooltip as the description
    interface = QAccessible.queryAccessibleInterface(label)
    assert [interface.text(kind) for kind in TEXTS] == ["First name", "", "", ""]
    assert interface.textInterface() is None
    assert interface.valueInterface() is None
    assert interface.role() == QAccessible.Role.StaticText


def test_the_typed_note_and_value_to_verify_have_no_text_interface(qtbot, qapp):
    window = working_window(qtbot, qapp)
    for edit in (window.panel.outcome_panel.notes_edit, window.panel.verify_panel.edits["birth"]):
        interface = QAccessible.queryAccessibleInterface(edit)
        assert interface.textInterface() is None
        assert interface.role() == QAccessible.Role.EditableText


def test_screen_reader_mode_reads_what_is_on_screen_only(qtbot, qapp, screen_reader):
    screen_reader(True)
    window = working_window(qtbot, qapp)
    text = everything(window)
    for value in VISIBLE:
        assert value in text
    assert AFTER_ANSWER.value not in text  # not on screen before the customer answers
    answered(window)
    assert AFTER_ANSWER.value in everything(window)
    window.show_call(CallView(call_id="c1", lease_id="lease-1", state="ended", created_at=NOW, result="completed"))
    assert AFTER_ANSWER.value not in everything(window)
    window.show_waiting()
    text = everything(window)
    for value in VISIBLE:
        assert value not in text  # gone with the record
