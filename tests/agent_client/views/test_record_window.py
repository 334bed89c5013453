import time
from datetime import datetime

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QWidget

from agent_client.views.record_window import MIN_LIMIT_WAIT_MS, RecordWindow
from shared.protocol import QuotaView
from tests.agent_client.agent_fakes import make_record, say_no_call

VALUES = ("Zofia", "Gdańsk", "•••••••4821", "Hello, I am calling about your contract.")


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def monotonic():
    return FakeClock()


@pytest.fixture
def window(qtbot, qapp, monotonic):
    widget = RecordWindow(
        "agent.one", "Demo Telecom", qapp.clipboard(), clock=lambda: datetime(2024, 5, 1, 9, 30), monotonic=monotonic
    )
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    return widget


def label_texts(widget):
    return [label.text() for label in widget.findChildren(QLabel)]


def show(qtbot, window, record=None):
    record = record or make_record()
    with qtbot.waitSignal(window.record_shown) as shown:
        window.show_record(record)
    assert shown.args == [record.lease_id]
    return record


def test_fields_phone_mask_and_script_are_shown(qtbot, window):
    record = show(qtbot, window)
    texts = label_texts(window)
    for value in VALUES:
        assert value in texts
    assert record.phone_mask in texts
    assert window.current_lease_id == "lease-1"


def test_no_label_is_selectable_or_names_its_value(qtbot, window):
    show(qtbot, window)
    for label in window.findChildren(QLabel):
        assert label.textInteractionFlags() == Qt.TextInteractionFlag.NoTextInteraction
        assert label.contextMenuPolicy() == Qt.ContextMenuPolicy.PreventContextMenu
        assert label.textFormat() == Qt.TextFormat.PlainText
        assert label.accessibleName() not in VALUES
        assert label.accessibleDescription() not in VALUES


@pytest.mark.parametrize(
    "sequence", [QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.SelectAll, QKeySequence.StandardKey.Print]
)
def test_copy_shortcuts_wipe_the_clipboard(qtbot, qapp, window, sequence):
    show(qtbot, window)
    qapp.clipboard().setText("planted")
    combo = QKeySequence(sequence)[0]
    target = window.findChildren(QLabel)[3]
    with qtbot.waitSignal(window.attempt_blocked):
        qtbot.keyClick(target, combo.key(), combo.keyboardModifiers())
    assert qapp.clipboard().text() == ""


def test_ctrl_c_on_window_leaves_clipboard_empty(qtbot, qapp, window):
    show(qtbot, window)
    qapp.clipboard().setText("planted")
    qtbot.keyClick(window, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert qapp.clipboard().text() == ""


@pytest.mark.parametrize(("key", "code"), [(Qt.Key.Key_1, "sale"), (Qt.Key.Key_2, "no_answer")])
def test_disposition_shortcut_emits_its_code(qtbot, window, key, code):
    show(qtbot, window)
    say_no_call(window)
    with qtbot.waitSignal(window.outcome_chosen) as chosen:
        qtbot.keyClick(window, key)
    draft = chosen.args[0]
    assert (draft.lease_id, draft.code, draft.no_call_reason, draft.call_id) == (
        "lease-1",
        code,
        "telephony_unavailable",
        None,
    )


def test_disposition_button_click_emits_its_code(qtbot, window):
    show(qtbot, window)
    say_no_call(window)
    button = next(b for b in window.findChildren(QPushButton) if b.text().startswith("No answer"))
    with qtbot.waitSignal(window.outcome_chosen) as chosen:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert chosen.args[0].code == "no_answer"


def test_after_disposition_the_record_is_gone(qtbot, window, monotonic):
    show(qtbot, window)
    say_no_call(window)
    monotonic.now += 2.5
    with qtbot.waitSignal(window.record_hidden) as hidden, qtbot.waitSignal(window.outcome_chosen):
        qtbot.keyClick(window, Qt.Key.Key_1)
    assert hidden.args == ["lease-1", 2500]
    texts = " ".join(label_texts(window))
    for value in VALUES:
        assert value not in texts
    assert window.current_lease_id is None
    with qtbot.assertNotEmitted(window.outcome_chosen):
        qtbot.keyClick(window, Qt.Key.Key_1)


def test_closing_hides_the_record(qtbot, window):
    show(qtbot, window)
    with qtbot.waitSignals([window.record_hidden, window.closed]):
        window.close()


def test_waiting_state_polls_again(qtbot, window):
    show(qtbot, window)
    with qtbot.waitSignal(window.record_hidden):
        window.show_waiting("", poll_after_s=0)
    with qtbot.waitSignal(window.next_record_requested, timeout=5000):
        pass


def test_next_button_asks_for_a_record(qtbot, window):
    window.show_waiting()
    button = next(b for b in window.findChildren(QPushButton) if b.text() == "Next record")
    with qtbot.waitSignal(window.next_record_requested):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_watermark_names_agent_and_time(window):
    assert window.watermark_text == "agent.one · 2024-05-01 09:30"


def test_new_record_replaces_old(qtbot, window):
    show(qtbot, window)
    with qtbot.waitSignal(window.record_hidden):
        window.show_record(make_record("lease-2"))
    assert window.current_lease_id == "lease-2"
    assert label_texts(window).count("Zofia") == 1


def activate(qtbot, widget):
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)


@pytest.fixture
def other_window(qtbot, window):
    """Another top-level window that can take the focus; the record window stays active."""
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    activate(qtbot, window)
    return widget


@pytest.mark.parametrize(
    ("key", "modifiers", "action"),
    [
        (Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier, "copy"),
        (Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier, "cut"),
        (Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "select_all"),
        (Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier, "print"),
        (Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier, "save"),
        (Qt.Key.Key_Print, Qt.KeyboardModifier.NoModifier, "capture"),
    ],
)
def test_blocked_action_on_a_record_names_lease_and_action(qtbot, window, key, modifiers, action):
    show(qtbot, window)
    with qtbot.waitSignal(window.action_blocked) as blocked, qtbot.waitSignal(window.attempt_blocked) as attempt:
        qtbot.keyClick(window.findChildren(QLabel)[3], key, modifiers)
    assert blocked.args == ["lease-1", action]
    assert attempt.args == [action]


def test_blocked_action_without_a_record_is_not_reported(qtbot, window):
    window.show_waiting()
    with qtbot.assertNotEmitted(window.action_blocked), qtbot.waitSignal(window.attempt_blocked):
        qtbot.keyClick(window, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)


def test_a_held_key_is_one_attempt(qtbot, window):
    show(qtbot, window)
    blocked = []
    window.action_blocked.connect(lambda *args: blocked.append(args))
    for repeat in (False, True, True):
        press = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier, "c", repeat)
        QApplication.sendEvent(window, press)
    assert blocked == [("lease-1", "copy")]


def test_focus_loss_is_reported_once_then_regained(qtbot, window, other_window):
    show(qtbot, window)
    changes = []
    window.focus_changed.connect(lambda *args: changes.append(args))
    activate(qtbot, other_window)
    qtbot.waitUntil(lambda: changes == [("lease-1", True)])
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowDeactivate))  # already lost: not repeated
    assert changes == [("lease-1", True)]
    activate(qtbot, window)
    qtbot.waitUntil(lambda: len(changes) == 2)
    assert changes == [("lease-1", True), ("lease-1", False)]
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowActivate))  # already active: not repeated
    assert len(changes) == 2


def test_focus_changes_without_a_record_are_not_reported(qtbot, window, other_window):
    window.show_waiting()
    with qtbot.assertNotEmitted(window.focus_changed):
        activate(qtbot, other_window)
        activate(qtbot, window)


def test_record_arriving_in_an_inactive_window_starts_as_lost(qtbot, window, other_window):
    activate(qtbot, other_window)
    with qtbot.waitSignal(window.focus_changed) as changed:
        show(qtbot, window)
    assert changed.args == ["lease-1", True]
    with qtbot.waitSignal(window.focus_changed) as changed:
        activate(qtbot, window)
    assert changed.args == ["lease-1", False]


def test_focus_state_starts_afresh_with_each_record(qtbot, window):
    show(qtbot, window)
    changes = []
    window.focus_changed.connect(lambda *args: changes.append(args))
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowDeactivate))
    window.show_record(make_record("lease-2"))  # the window is really active: no event
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowDeactivate))
    assert changes == [("lease-1", True), ("lease-2", True)]


def test_counts_are_shown_plainly_and_updated(window):
    window.show_quota(QuotaView(issued_hour=23, per_hour=60, issued_day=130, per_day=480))
    assert {"23 of 60 this hour", "130 of 480 today"} <= set(label_texts(window))
    window.show_quota(QuotaView(issued_hour=24, per_hour=60, issued_day=131, per_day=480))
    texts = [label.text() for label in window.findChildren(QLabel) if label.isVisible()]
    assert {"24 of 60 this hour", "131 of 480 today"} <= set(texts)
    window.show_quota(None)
    assert not any("this hour" in label.text() for label in window.findChildren(QLabel) if label.isVisible())


def test_limit_takes_the_record_away_and_asks_again_once_by_itself(qtbot, window):
    show(qtbot, window)
    next_button = next(b for b in window.findChildren(QPushButton) if b.text() == "Next record")
    with qtbot.waitSignal(window.record_hidden):
        window.show_limit_reached("Limit of 60 records an hour reached; next at 14:32.", 300)
    assert window.current_lease_id is None
    assert "Limit of 60 records an hour reached; next at 14:32." in label_texts(window)
    assert not next_button.isEnabled()  # asking earlier would only be refused again
    started = time.monotonic()
    with qtbot.waitSignal(window.next_record_requested, timeout=5000):
        pass
    assert time.monotonic() - started >= MIN_LIMIT_WAIT_MS / 1000 - 0.05  # a time already near: the floor holds
    with qtbot.assertNotEmitted(window.next_record_requested, wait=1500):
        pass  # once, not a poll


def test_notice_stays_over_the_next_record_until_an_outcome(qtbot, window):
    window.show_notice("This record was withdrawn.")
    show(qtbot, window, make_record("lease-2"))
    visible = [label.text() for label in window.findChildren(QLabel) if label.isVisible()]
    assert "This record was withdrawn." in visible
    say_no_call(window)
    with qtbot.waitSignal(window.outcome_chosen):
        qtbot.keyClick(window, Qt.Key.Key_1)
    visible = [label.text() for label in window.findChildren(QLabel) if label.isVisible()]
    assert "This record was withdrawn." not in visible


def test_a_far_retry_time_waits_without_asking(qtbot, window):
    window.show_limit_reached("Limit of 480 records a day reached; next at 2026-12-31 08:00.", 10**12)
    with qtbot.assertNotEmitted(window.next_record_requested, wait=300):
        pass
