"""The record window while working a call: keys, states, timer, outcomes, notes, callback, verify, after_answer."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from agent_client.views.callback_dialog import default_callback_time
from agent_client.views.record_window import RecordWindow
from shared.calls import CallView, VerifyResponse
from shared.protocol import FieldView, VerifyFieldView
from tests.agent_client.agent_fakes import make_record, say_no_call

NOW = datetime(2026, 12, 1, 13, 7, tzinfo=UTC)  # 14:07 in Warsaw


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def monotonic():
    return Clock()


@pytest.fixture
def window(qtbot, qapp, monotonic):
    widget = RecordWindow("agent.one", "Demo Telecom", qapp.clipboard(), monotonic=monotonic, utc_clock=lambda: NOW)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    return widget


def record(**changes):
    return make_record().model_copy(update=changes)


def call(state, **extra):
    return CallView(call_id="call-1", lease_id="lease-1", state=state, created_at=NOW, **extra)


def visible_texts(window):
    return [label.text() for label in window.findChildren(QLabel) if label.isVisible()]


def outcome_buttons(window):
    return list(window.panel.outcome_panel.buttons.values())


def test_outcomes_are_disabled_until_a_call_ended(qtbot, window):
    window.show_record(record())
    assert not any(b.isEnabled() for b in outcome_buttons(window))
    with qtbot.assertNotEmitted(window.outcome_chosen):
        qtbot.keyClick(window, Qt.Key.Key_1)
    assert "Call first, or choose why you could not call." in visible_texts(window)
    with qtbot.waitSignal(window.call_requested) as requested:
        qtbot.keyClick(window, Qt.Key.Key_F9)
    assert requested.args == ["lease-1"]
    window.show_call(call("agent_ringing"))
    assert not any(b.isEnabled() for b in outcome_buttons(window))
    window.show_call(call("ended", result="no_answer"))
    assert all(b.isEnabled() for b in outcome_buttons(window))
    with qtbot.waitSignal(window.outcome_chosen) as chosen:
        qtbot.keyClick(window, Qt.Key.Key_2)
    draft = chosen.args[0]
    assert (draft.code, draft.call_id, draft.no_call_reason) == ("no_answer", "call-1", None)


def test_call_key_asks_once_until_the_server_answers(qtbot, window):
    window.show_record(record())
    with qtbot.waitSignal(window.call_requested):
        qtbot.keyClick(window, Qt.Key.Key_F9)
    with qtbot.assertNotEmitted(window.call_requested):
        qtbot.keyClick(window, Qt.Key.Key_F9)
    window.show_call_refused("The telephone system is not available.")
    assert "The telephone system is not available." in visible_texts(window)
    with qtbot.waitSignal(window.call_requested):
        qtbot.keyClick(window, Qt.Key.Key_F9)


def test_hang_up_key_ends_the_live_call_and_the_timer_runs(qtbot, window, monotonic):
    window.show_record(record())
    window.show_call(call("customer_ringing"))
    panel = window.panel.call_panel
    assert panel.state_label.text() == "Calling the customer…"
    monotonic.now += 65
    window.show_call(call("answered", answered_at=NOW))
    monotonic.now += 42
    qtbot.waitUntil(lambda: panel.timer_label.text() == "00:42", timeout=3000)
    assert panel.state_label.text() == "Connected"
    with qtbot.waitSignal(window.hang_up_requested) as hang_up:
        qtbot.keyClick(window, Qt.Key.Key_F10)
    assert hang_up.args == ["call-1"]
    window.show_call(call("ended", result="completed", talk_s=42))
    assert panel.state_label.text() == "Call ended" and panel.timer_label.text() == "00:42"
    assert not panel.hang_up_button.isEnabled()


@pytest.mark.parametrize(
    ("result", "text"),
    [
        ("busy", "Ended: the line was busy"),
        ("no_answer", "Ended: no answer"),
        ("agent_unavailable", "Ended: your phone is not reachable"),
        ("failed", "Ended: the call could not be placed"),
    ],
)
def test_each_end_is_named(window, result, text):
    window.show_record(record())
    window.show_call(call("ended", result=result))
    assert window.panel.call_panel.state_label.text() == text


def test_after_answer_fields_only_while_connected(qtbot, window):
    window.show_record(record(after_answer_fields=1))
    assert "1 more field(s) appear when the customer answers." in visible_texts(window)
    secret = FieldView(name="pesel", label="PESEL", value="90013112345")
    window.show_call(call("answered", fields=(secret,)))
    assert "90013112345" in visible_texts(window)
    window.show_call(call("ended", result="completed", talk_s=3))
    texts = [label.text() for label in window.findChildren(QLabel)]
    assert "90013112345" not in texts


def test_a_call_of_another_record_is_ignored(window):
    window.show_record(record())
    window.show_call(CallView(call_id="x", lease_id="lease-9", state="ended", result="busy", created_at=NOW))
    assert not any(b.isEnabled() for b in outcome_buttons(window))


def test_notes_go_with_the_outcome_and_a_phone_number_is_refused(qtbot, window):
    window.show_record(record())
    say_no_call(window)
    notes = window.panel.outcome_panel.notes_edit
    notes.setFocus()
    qtbot.keyClicks(notes, "oddzwonic po 18, tel 600 123 456")
    with qtbot.assertNotEmitted(window.outcome_chosen):
        qtbot.keyClick(window, Qt.Key.Key_F1)  # no shortcut: click the button instead
        window.panel.outcome_panel.buttons["sale"].click()
    assert "Remove the phone number from the notes: notes may not hold one." in visible_texts(window)
    notes.setPlainText("Klient prosi o oferte na pismie")
    with qtbot.waitSignal(window.outcome_chosen) as chosen:
        window.panel.outcome_panel.buttons["sale"].click()
    assert chosen.args[0].notes == "Klient prosi o oferte na pismie"


def test_typing_digits_into_the_notes_presses_no_outcome(qtbot, window):
    window.show_record(record())
    say_no_call(window)
    notes = window.panel.outcome_panel.notes_edit
    notes.setFocus()
    with qtbot.assertNotEmitted(window.outcome_chosen):
        qtbot.keyClicks(notes, "12 c")
    assert notes.toPlainText() == "12 c"


def test_notes_are_length_limited(window):
    window.show_record(record())
    say_no_call(window)
    panel = window.panel.outcome_panel
    panel.notes_edit.setPlainText("x" * 501)
    assert panel.counter_label.text() == "501/500"
    assert panel.warning_label.text() == "The note is too long."


def test_callback_asks_when_and_for_whom_in_the_campaign_zone(qtbot, window):
    window.show_record(record(callback_code="callback", timezone="Europe/Warsaw"))
    say_no_call(window)
    qtbot.keyClick(window, Qt.Key.Key_C)
    dialog = window.panel.callback_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.chosen_time() == datetime(2026, 12, 1, 15, 15, tzinfo=ZoneInfo("Europe/Warsaw"))
    dialog.anyone_button.setChecked(True)
    with qtbot.waitSignal(window.outcome_chosen) as chosen:
        dialog.accept()
    draft = chosen.args[0]
    assert draft.code == "callback" and draft.callback_for == "anyone"
    assert draft.callback_at == datetime(2026, 12, 1, 14, 15, tzinfo=UTC)


def test_a_callback_in_the_past_is_refused_by_the_picker(qtbot, window):
    window.show_record(record(callback_code="callback", timezone="America/New_York"))
    say_no_call(window)
    qtbot.keyClick(window, Qt.Key.Key_C)
    dialog = window.panel.callback_dialog
    dialog.time_edit.setTime(dialog.time_edit.time().addSecs(-6 * 3600))
    with qtbot.assertNotEmitted(window.outcome_chosen):
        dialog._on_ok()  # noqa: SLF001 - the OK button's handler
    assert dialog.message_label.text() == "Choose a time in the future."


def test_default_callback_time_rounds_to_the_quarter():
    zone = ZoneInfo("Europe/Warsaw")
    assert default_callback_time(NOW, zone) == datetime(2026, 12, 1, 15, 15, tzinfo=zone)
    on_the_quarter = NOW.replace(minute=0)
    assert default_callback_time(on_the_quarter, zone) == datetime(2026, 12, 1, 15, 0, tzinfo=zone)
    assert default_callback_time(NOW + timedelta(hours=10), zone).date().day == 2


def test_verify_sends_the_typed_value_and_shows_the_answer(qtbot, window):
    window.show_record(record(verify_fields=(VerifyFieldView(name="birth_date", label="Date of birth"),)))
    panel = window.panel.verify_panel
    edit = panel.edits["birth_date"]
    qtbot.keyClicks(edit, "31.01.1990")
    with qtbot.waitSignal(window.verify_requested) as asked:
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert asked.args == ["lease-1", "birth_date", "31.01.1990"]
    assert edit.text() == ""  # never kept on screen
    window.show_verify_result(VerifyResponse(field="birth_date", match=False, tries_left=2))
    assert "✘ Does not match (2 tries left)" in visible_texts(window)
    assert panel.buttons["birth_date"].isEnabled()
    window.show_verify_result(VerifyResponse(field="birth_date", match=True, tries_left=1))
    assert "✔ Matches" in visible_texts(window)
    assert not edit.isEnabled()


def test_verify_exhausted_disables_the_field(window):
    window.show_record(record(verify_fields=(VerifyFieldView(name="pesel_tail", label="PESEL, last 4"),)))
    window.show_verify_refused("pesel_tail", "No tries left for this field.", final=True)
    assert not window.panel.verify_panel.edits["pesel_tail"].isEnabled()
    assert "No tries left for this field." in visible_texts(window)


def test_pending_outcomes_are_said_and_no_record_is_asked_for(qtbot, window):
    window.show_pending(1, 3)
    assert "Waiting for the server: outcomes 1, display events 3." in visible_texts(window)
    assert window.current_lease_id is None
    with qtbot.assertNotEmitted(window.next_record_requested, wait=300):
        pass
