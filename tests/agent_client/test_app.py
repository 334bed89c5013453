import time
from datetime import UTC, datetime, timedelta

import pytest
import shiboken6
import tomli_w
from PySide6.QtCore import QEvent, Qt, QThreadPool
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QWidget

from agent_client.api import AgentApi
from agent_client.app import AppController, Connection, StartOptions
from agent_client.config import parse_deployment_config
from agent_client.credentials import CredentialStore, MemoryKeyring
from agent_client.outcome import OutcomeDraft
from agent_client.reporter import Backoff
from agent_client.service import AgentService
from agent_client.translations import install_translators
from agent_client.views.record_window import MIN_LIMIT_WAIT_MS
from agent_client.views.watermark import WatermarkOverlay
from shared.protocol import NoCallReason
from tests.agent_client.agent_fakes import BASE_URL, ENROL_CODE, PASSWORD, say_no_call

TIMEOUT = 5000


@pytest.fixture
def raw_config(ca_pem):
    return tomli_w.dumps(
        {"server_url": "https://custos.test:8443", "organisation": "Demo Telecom", "ca_certificate": ca_pem}
    ).encode()


@pytest.fixture
def controller(qtbot, qapp, fake_server, tmp_path):
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    backend = MemoryKeyring()

    def connect(config):
        api = AgentApi(BASE_URL, transport=fake_server.transport())
        service = AgentService(api, pool=pool, retry_delays_ms=(50,), device_name="pc")
        return Connection(config=config, store=CredentialStore(config.server_url, backend), service=service)

    app_controller = AppController(qapp.clipboard(), connect, config_dir=tmp_path)
    yield app_controller
    app_controller.shutdown()
    pool.waitForDone(TIMEOUT)
    if app_controller.record_window is not None:
        app_controller.record_window.deleteLater()


def texts(window):
    return " ".join(label.text() for label in window.findChildren(QLabel))


def start_working(qtbot, controller, raw_config):
    controller.start(
        parse_deployment_config(raw_config), raw_config, StartOptions(enrol_code=ENROL_CODE, password=PASSWORD)
    )
    qtbot.waitUntil(lambda: controller.record_window is not None and "Zofia" in texts(controller.record_window))
    return controller.record_window


def test_enrol_login_show_dispose_next(qtbot, controller, raw_config, fake_server, tmp_path):
    window = start_working(qtbot, controller, raw_config)
    assert (tmp_path / "deployment.toml").read_bytes() == raw_config
    qtbot.waitUntil(lambda: len(fake_server.events) == 1)
    window.outcome_chosen.emit(OutcomeDraft(lease_id="lease-1", code="sale", no_call_reason=NoCallReason.OTHER))
    window.show_waiting()
    qtbot.waitUntil(lambda: window.current_lease_id == "lease-2")
    assert fake_server.dispositions == [("lease-1", "sale")]


def test_record_is_hidden_while_reporting_fails(qtbot, controller, raw_config, fake_server):
    fake_server.fail_events = 1
    window = start_working(qtbot, controller, raw_config)
    qtbot.waitUntil(lambda: len(fake_server.events) == 3, timeout=TIMEOUT)
    assert window.current_lease_id == "lease-1"
    kinds = sorted((e.session_seq, e.kind) for e in fake_server.events.values())
    assert kinds == [(0, "record_displayed"), (1, "record_hidden"), (2, "record_displayed")]


def activate(qtbot, widget):
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)


def test_ctrl_c_on_a_record_reaches_the_server_as_a_blocked_copy(qtbot, controller, raw_config, fake_server):
    window = start_working(qtbot, controller, raw_config)
    qtbot.keyClick(window, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: ("action_blocked", "copy") in fake_server.kinds(), timeout=TIMEOUT)
    assert fake_server.kinds() == [("record_displayed", None), ("action_blocked", "copy")]
    blocked = next(e for e in fake_server.events.values() if e.kind == "action_blocked")
    assert blocked.lease_id == "lease-1"


def test_focus_loss_reaches_the_server_once_then_the_return(qtbot, controller, raw_config, fake_server):
    window = start_working(qtbot, controller, raw_config)
    activate(qtbot, window)
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    activate(qtbot, other)
    qtbot.waitUntil(lambda: ("focus_lost", None) in fake_server.kinds(), timeout=TIMEOUT)
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowDeactivate))  # still lost: nothing new to say
    activate(qtbot, window)
    qtbot.waitUntil(lambda: ("focus_regained", None) in fake_server.kinds(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: controller.service.pending_events == 0, timeout=TIMEOUT)
    assert fake_server.kinds() == [("record_displayed", None), ("focus_lost", None), ("focus_regained", None)]
    assert sorted(e.session_seq for e in fake_server.events.values()) == [0, 1, 2]


# Containment (issue 6): the server is the control; the client shows its state.

RECORD_VALUES = ("Zofia", "Gdańsk", "Hello, I am calling about your contract.")


@pytest.fixture
def warsaw(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Warsaw")
    time.tzset()
    yield timedelta(hours=1)  # CET in December
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def polish(qapp):
    installed = install_translators(qapp, "pl")
    assert installed
    yield
    for translator in installed:
        qapp.removeTranslator(translator)


def visible_texts(window):
    return [label.text() for label in window.findChildren(QLabel) if label.isVisible()]


def warsaw_minute(at, offset):
    """``at`` as Warsaw wall-clock HH:MM (with the date when not today), rounded up, without the client's code."""
    local = (at + offset).replace(tzinfo=None)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    today = (datetime.now(UTC) + offset).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%Y-%m-%d %H:%M}"


def no_record_text_anywhere():
    labels = [w for w in QApplication.allWidgets() if isinstance(w, QLabel)]
    return not any(value in label.text() for label in labels for value in RECORD_VALUES)


def test_the_count_is_shown_and_follows_every_next(qtbot, controller, raw_config, fake_server):
    window = start_working(qtbot, controller, raw_config)
    assert {"23 of 60 this hour", "131 of 480 today"} <= set(visible_texts(window))
    say_no_call(window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: window.current_lease_id == "lease-2", timeout=TIMEOUT)
    assert {"24 of 60 this hour", "132 of 480 today"} <= set(visible_texts(window))


def test_at_the_limit_no_record_the_local_time_and_one_request_at_retry_at(
    qtbot, controller, raw_config, fake_server, warsaw
):
    window = start_working(qtbot, controller, raw_config)
    fake_server.limit_until = datetime.now(UTC) + timedelta(seconds=1.5)
    retry_at = fake_server.limit_until
    asked = len(fake_server.next_times)
    say_no_call(window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    message = f"Limit of 60 records an hour reached; next at {warsaw_minute(retry_at, warsaw)}."
    qtbot.waitUntil(lambda: message in visible_texts(window), timeout=TIMEOUT)
    assert window.current_lease_id is None
    assert "60 of 60 this hour" in visible_texts(window)
    assert no_record_text_anywhere()
    qtbot.waitUntil(lambda: window.current_lease_id == "lease-2", timeout=TIMEOUT)
    refused, granted = fake_server.next_times[asked:]  # asked by itself exactly once more, no polling
    assert refused < retry_at <= granted
    assert "24 of 60 this hour" in visible_texts(window)


def test_a_retry_at_already_past_is_no_busy_loop(qtbot, controller, raw_config, fake_server):
    window = start_working(qtbot, controller, raw_config)
    fake_server.limit_until = datetime.now(UTC) + timedelta(seconds=1.5)
    controller_clock_ahead = fake_server.limit_until + timedelta(minutes=5)
    controller._clock = lambda: controller_clock_ahead  # noqa: SLF001 - a computer whose clock runs ahead
    asked = len(fake_server.next_times)
    say_no_call(window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: window.current_lease_id == "lease-2", timeout=TIMEOUT)
    times = fake_server.next_times[asked:]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert 2 <= len(times) <= 3
    assert all(gap >= MIN_LIMIT_WAIT_MS / 1000 - 0.05 for gap in gaps)


def test_the_daily_limit_in_polish(qtbot, controller, raw_config, fake_server, warsaw, polish):
    window = start_working(qtbot, controller, raw_config)
    fake_server.limit_until = datetime.now(UTC) + timedelta(minutes=30)
    fake_server.limit_period = "day"
    say_no_call(window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    shown = warsaw_minute(fake_server.limit_until, warsaw)
    message = f"Osiągnięto limit 480 rekordów na dzień; następny o {shown}."
    qtbot.waitUntil(lambda: message in visible_texts(window), timeout=TIMEOUT)
    assert "480 z 480 dzisiaj" in visible_texts(window)
    assert window.current_lease_id is None


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Your account has been suspended. Contact your supervisor."),
        ("pl", "Twoje konto zostało zawieszone. Skontaktuj się z przełożonym."),
    ],
)
def test_suspended_back_to_login_with_no_record_left(
    qtbot, qapp, controller, raw_config, fake_server, language, message
):
    installed = install_translators(qapp, language)
    try:
        window = start_working(qtbot, controller, raw_config)
        login_window = controller._login_window  # noqa: SLF001 - the window the agent returns to
        fake_server.suspend()
        say_no_call(window)
        qtbot.keyClick(window, Qt.Key.Key_1)  # the outcome that trips a rule
        qtbot.waitUntil(lambda: controller.record_window is None and login_window.isVisible(), timeout=TIMEOUT)
        assert login_window.message_label.text() == message
        assert not shiboken6.isValid(window) or not window.isVisible()
        assert no_record_text_anywhere()
        qtbot.waitUntil(lambda: not controller.service._api.logged_in, timeout=TIMEOUT)  # noqa: SLF001 - token gone
        login_window.password_edit.setText(PASSWORD)
        qtbot.keyClick(login_window.password_edit, Qt.Key.Key_Return)  # logging in while suspended
        qtbot.waitUntil(lambda: login_window.submit_button.isEnabled(), timeout=TIMEOUT)
        assert login_window.message_label.text() == message
        assert controller.record_window is None
    finally:
        for translator in installed:
            qapp.removeTranslator(translator)


def fully_visible(window):
    label = window.message_label
    return (
        label.isVisible()
        and window.rect().contains(label.geometry())
        and (label.height() >= label.heightForWidth(label.width()))
    )


def start_at_login(qtbot, controller, raw_config):
    controller.start(
        parse_deployment_config(raw_config), raw_config, StartOptions(enrol_code=ENROL_CODE, password="wrong password")
    )
    qtbot.waitUntil(lambda: controller._login_window is not None, timeout=TIMEOUT)  # noqa: SLF001
    login_window = controller._login_window  # noqa: SLF001
    qtbot.waitUntil(lambda: login_window.submit_button.isEnabled(), timeout=TIMEOUT)
    return login_window


@pytest.mark.parametrize(
    ("language", "refusal", "expected"),
    [
        ("en", "locked", "Too many failed logins. Try again at {time}."),
        ("pl", "locked", "Zbyt wiele nieudanych logowań. Spróbuj ponownie o {time}."),
        ("en", "network", "Logging in from this network is not allowed. Contact your supervisor."),
        ("pl", "network", "Logowanie z tej sieci jest niedozwolone. Skontaktuj się z przełożonym."),
    ],
)
def test_login_refusals_are_plain_and_fully_visible(
    qtbot, qapp, controller, raw_config, fake_server, warsaw, language, refusal, expected
):
    installed = install_translators(qapp, language)
    try:
        login_window = start_at_login(qtbot, controller, raw_config)
        if refusal == "locked":
            fake_server.locked_until = datetime.now(UTC) + timedelta(minutes=15)
        else:
            fake_server.address_refused = True
        message = expected.format(
            time=warsaw_minute(fake_server.locked_until, warsaw) if fake_server.locked_until else ""
        )
        login_window.password_edit.setText(PASSWORD)
        qtbot.keyClick(login_window.password_edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: login_window.message_label.text() == message, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: fully_visible(login_window), timeout=TIMEOUT)
        assert controller.record_window is None
    finally:
        for translator in installed:
            qapp.removeTranslator(translator)


def test_a_withdrawn_record_says_so_and_the_next_one_comes(qtbot, controller, raw_config, fake_server):
    window = start_working(qtbot, controller, raw_config)
    fake_server.withdraw("lease-1")  # e.g. a DNC import while it was on screen
    say_no_call(window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: window.current_lease_id == "lease-2", timeout=TIMEOUT)
    assert "This record was withdrawn." in visible_texts(window)
    assert fake_server.dispositions == []
    assert controller.record_window is window


# Issue 7: an outcome the server has not taken yet holds the next record, and the window says what waits.


def test_an_outcome_waiting_for_the_server_holds_the_next_record_and_says_so(
    qtbot, controller, raw_config, fake_server
):
    window = start_working(qtbot, controller, raw_config)
    fake_server.fail_dispositions = 3
    controller.service._uploader._backoff = Backoff((400,))  # noqa: SLF001 - slow enough to read the state
    say_no_call(window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: "Waiting for the server: outcomes 1" in " ".join(visible_texts(window)), timeout=TIMEOUT)
    assert window.current_lease_id is None
    assert no_record_text_anywhere()
    assert all(path != "next" for path, _ in fake_server.requests[-2:])
    qtbot.waitUntil(lambda: window.current_lease_id == "lease-2", timeout=TIMEOUT)
    assert fake_server.dispositions == [("lease-1", "sale")]
    assert len({body["outcome_id"] for body in fake_server.disposition_bodies}) == 1


def test_an_idle_reason_from_the_service_is_said(qtbot, controller, raw_config, fake_server):
    window = start_working(qtbot, controller, raw_config)
    controller.on_service_record_received(None, 30, "outside_calling_hours")
    assert window.current_lease_id is None
    assert "Outside the campaign's calling hours" in texts(window)
    controller.on_service_record_received(None, 30)  # a service that does not pass the reason yet
    assert "Waiting for the next record" in texts(window)


def test_every_dialog_shown_while_logged_in_is_watermarked(qtbot, controller, raw_config):
    window = start_working(qtbot, controller, raw_config)
    box = QMessageBox(QMessageBox.Icon.Information, "Custos", "Saved", parent=window)
    qtbot.addWidget(box)
    box.show()
    [mark] = box.findChildren(WatermarkOverlay)
    assert "lease-1" in mark.text() and mark.text().startswith("agent.one")
    assert [w for w in box.children() if isinstance(w, QWidget)][-1] is mark
    box.close()
    window.logout_requested.emit()
    qtbot.waitUntil(lambda: controller.record_window is None)
    after = QMessageBox(QMessageBox.Icon.Information, "Custos", "Logged out")
    qtbot.addWidget(after)
    after.show()
    assert not after.findChildren(WatermarkOverlay)
