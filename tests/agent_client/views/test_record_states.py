"""The record window's clear states and the wrapping of long (Polish) messages in the call row."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLabel, QPushButton

from agent_client.messages import user_message
from agent_client.translations import install_translators
from agent_client.views.record_window import MIN_POLL_S, RecordWindow
from shared.errors import ErrorCode
from shared.protocol import BlockedAction, IdleReason
from tests.agent_client.agent_fakes import make_record, say_no_call


@pytest.fixture
def window(qtbot, qapp):
    widget = RecordWindow("agent.one", "Demo Telecom", qapp.clipboard())
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def polish(qapp):
    installed = install_translators(qapp, "pl")
    yield
    for translator in installed:
        qapp.removeTranslator(translator)


def visible_texts(window):
    return [label.text() for label in window.findChildren(QLabel) if label.isVisible()]


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        (IdleReason.OUTSIDE_CALLING_HOURS, "Outside the campaign's calling hours: no customer may be called now."),
        (IdleReason.NO_CONTACTS, "No customer to call right now. Asking again shortly…"),
        (None, "Waiting for the next record…"),
    ],
)
def test_idle_reason_is_said_and_the_window_asks_again(qtbot, window, reason, text):
    window.show_record(make_record())
    window.show_idle(reason, poll_after_s=1)
    assert window.current_lease_id is None
    assert text in visible_texts(window)
    with qtbot.waitSignal(window.next_record_requested, timeout=(MIN_POLL_S + 2) * 1000):
        pass


def fully_shown(label):
    return label.isVisible() and label.wordWrap() and label.height() >= label.heightForWidth(label.width())


@pytest.mark.parametrize(
    "code",
    [
        ErrorCode.DO_NOT_CALL,
        ErrorCode.OUTSIDE_CALLING_HOURS,
        ErrorCode.MAX_ATTEMPTS,
        ErrorCode.TELEPHONY_UNAVAILABLE,
        ErrorCode.AGENT_PHONE_UNAVAILABLE,
        ErrorCode.CALL_IN_PROGRESS,
    ],
)
def test_each_dial_refusal_is_said_in_polish_and_fits(qtbot, window, polish, code):
    window.show_record(make_record())
    message = user_message(code)
    assert message and message != user_message("unknown_code")
    window.show_call_refused(message)
    label = window.panel.call_panel.state_label
    assert label.text() == message
    qtbot.waitUntil(lambda: fully_shown(label))
    assert window.rect().contains(label.mapTo(window, label.rect().bottomRight()))
    assert window.panel.call_panel.call_button.isEnabled(), "another try is allowed"


def test_a_phone_number_is_flagged_while_typing(qtbot, window):
    window.show_record(make_record())
    notes = window.panel.outcome_panel.notes_edit
    notes.setFocus()
    qtbot.keyClicks(notes, "tel 600 123 456")
    assert "Remove the phone number from the notes: notes may not hold one." in visible_texts(window)
    notes.clear()
    assert "Remove the phone number from the notes: notes may not hold one." not in visible_texts(window)


def test_notes_can_be_typed_but_not_copied_out(qtbot, qapp, window):
    window.show_record(make_record())
    say_no_call(window)
    notes = window.panel.outcome_panel.notes_edit
    notes.setFocus()
    qtbot.keyClicks(notes, "prosi o oferte")
    assert notes.toPlainText() == "prosi o oferte"
    assert not notes.acceptDrops()
    assert not notes.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    qapp.clipboard().setText("planted")
    with qtbot.waitSignal(window.action_blocked) as blocked:
        qtbot.keySequence(notes, QKeySequence(QKeySequence.StandardKey.SelectAll))
    assert blocked.args[1] == BlockedAction.SELECT_ALL
    qtbot.keySequence(notes, QKeySequence(QKeySequence.StandardKey.Copy))
    assert qapp.clipboard().text() == ""
    assert notes.toPlainText() == "prosi o oferte"


def test_pending_outcomes_take_the_record_away_and_disable_next(window):
    window.show_record(make_record())
    window.show_pending(1, 2)
    assert window.current_lease_id is None
    assert any("Waiting for the server" in text for text in visible_texts(window))
    (next_button,) = [b for b in window.findChildren(QPushButton) if b.text() == "Next record"]
    assert not next_button.isEnabled()


@pytest.mark.parametrize("code", [ErrorCode.ACCOUNT_SUSPENDED, "network"])
def test_suspended_and_unreachable_are_said_with_no_record(window, code):
    window.show_record(make_record())
    window.set_busy(user_message(code))
    assert window.current_lease_id is None
    assert user_message(code) in visible_texts(window)
