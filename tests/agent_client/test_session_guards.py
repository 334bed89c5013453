"""Across the whole client: capture exclusion of every top-level window, the screen-reader setting reported,
and the idle lock (the record hidden and reported, the session ended, the work going on after the next login).

Win32 cannot run here: :class:`FakeUser32` stands at the ctypes edge. Everything else is the real
controller, service, windows and the agent API fake of the other client tests.
"""

import pytest
import tomli_w
from PySide6.QtCore import Qt, QThreadPool, QTimer
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from agent_client.api import AgentApi
from agent_client.app import AppController, Connection, StartOptions
from agent_client.config import parse_deployment_config
from agent_client.credentials import CredentialStore, MemoryKeyring
from agent_client.service import AgentService
from agent_client.session_guards import SessionGuards
from agent_client.views.accessibility import set_screen_reader_mode
from agent_client.views.capture import WDA_EXCLUDEFROMCAPTURE, CaptureExclusion
from agent_client.views.login_window import LoginWindow
from tests.agent_client.agent_fakes import BASE_URL, ENROL_CODE, PASSWORD

TIMEOUT = 5000


class FakeUser32:
    """Stands in for ``ctypes.windll.user32`` (Win32 cannot run here): the same
    ``SetWindowDisplayAffinity(hwnd, affinity) -> BOOL`` call, recorded; it fails (0) while ``refusing``."""

    def __init__(self):
        self.calls = []
        self.refusing = False

    def SetWindowDisplayAffinity(self, hwnd, affinity):  # noqa: N802 - the Win32 name
        self.calls.append((hwnd, affinity))
        return 0 if self.refusing else 1


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def user32():
    return FakeUser32()


@pytest.fixture
def capture(qapp, user32):
    exclusion = CaptureExclusion(user32)
    exclusion.install(qapp)
    yield exclusion
    qapp.removeEventFilter(exclusion)


def calls_for(user32, widget):
    return [call for call in user32.calls if call[0] == int(widget.winId())]


def test_every_top_level_window_and_dialog_gets_exactly_one_call_with_its_window(qtbot, capture, user32):
    login = LoginWindow("Demo Telecom", "agent.one")
    dialog = QDialog()
    box = QMessageBox(QMessageBox.Icon.Warning, "Custos", "A message")
    child = QWidget(login)  # not a top-level window: never asked for
    for widget in (login, dialog, box):
        qtbot.addWidget(widget)
        widget.show()
        qtbot.waitExposed(widget)
    child.show()
    for widget in (login, dialog, box):
        assert calls_for(user32, widget) == [(int(widget.winId()), WDA_EXCLUDEFROMCAPTURE)]
    dialog.hide()
    dialog.show()  # the same native window: nothing new to ask
    assert calls_for(user32, dialog) == [(int(dialog.winId()), WDA_EXCLUDEFROMCAPTURE)]
    assert len(user32.calls) == 3


def test_a_window_already_shown_when_installed_is_covered(qtbot, qapp, user32):
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    exclusion = CaptureExclusion(user32)
    exclusion.install(qapp)
    try:
        assert calls_for(user32, widget) == [(int(widget.winId()), WDA_EXCLUDEFROMCAPTURE)]
    finally:
        qapp.removeEventFilter(exclusion)


def test_a_refusal_is_logged_and_signalled(qtbot, capture, user32, caplog):
    dialog = QDialog()
    qtbot.addWidget(dialog)
    user32.refusing = True
    with qtbot.waitSignal(capture.refused) as refused:
        dialog.show()
    assert refused.args == ["QDialog"]
    assert "refused capture exclusion for a QDialog window" in caplog.text


def test_nothing_is_called_without_the_win32_edge(qtbot, qapp):
    exclusion = CaptureExclusion(None)
    exclusion.install(qapp)  # not Windows: no filter at all
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()  # nothing to call, nothing raised


# The whole client: the real controller with guards over the fake Win32 edge and a fake idle clock.


def raw_config(ca_pem, **extra):
    data = {"server_url": "https://custos.test:8443", "organisation": "Demo Telecom", "ca_certificate": ca_pem}
    return tomli_w.dumps({**data, **extra}).encode()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def controller(qtbot, qapp, fake_server, tmp_path, user32, clock):
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    backend = MemoryKeyring()

    def connect(config):
        api = AgentApi(BASE_URL, transport=fake_server.transport())
        service = AgentService(api, pool=pool, retry_delays_ms=(50,), device_name="pc")
        return Connection(config=config, store=CredentialStore(config.server_url, backend), service=service)

    guards = SessionGuards(user32=user32, idle_clock=clock)
    app_controller = AppController(qapp.clipboard(), connect, config_dir=tmp_path, guards=guards)
    yield app_controller
    app_controller.shutdown()
    pool.waitForDone(TIMEOUT)
    qapp.removeEventFilter(guards.capture)
    set_screen_reader_mode(False)
    if app_controller.record_window is not None:
        app_controller.record_window.deleteLater()


def start_working(qtbot, controller, raw):
    controller.start(parse_deployment_config(raw), raw, StartOptions(enrol_code=ENROL_CODE, password=PASSWORD))
    qtbot.waitUntil(
        lambda: controller.record_window is not None and controller.record_window.current_lease_id is not None
    )
    return controller.record_window


@pytest.mark.parametrize("mode", [False, True])
def test_the_screen_reader_setting_is_reported_after_login(qtbot, controller, ca_pem, fake_server, mode):
    start_working(qtbot, controller, raw_config(ca_pem, screen_reader_mode=mode))
    qtbot.waitUntil(lambda: len(fake_server.client_reports) == 1, timeout=TIMEOUT)
    report = fake_server.client_reports[0]
    assert (report.kind, report.screen_reader_mode) == ("client_settings", mode)


def test_the_settings_that_weaken_protection_are_reported(qtbot, controller, ca_pem, fake_server):
    start_working(qtbot, controller, raw_config(ca_pem, idle_lock_minutes=120, update_check=False))
    qtbot.waitUntil(lambda: len(fake_server.client_reports) == 1, timeout=TIMEOUT)
    report = fake_server.client_reports[0]
    # provisioned: this config was handed to the controller, not read from the machine-wide file
    assert (report.idle_lock_minutes, report.update_check, report.provisioned) == (120, False, False)


class _HomeMadePopup(QDialog):
    """A top-level window class outside the closed set the server accepts."""


def test_a_refusal_for_an_unknown_window_class_is_sent_as_other(qtbot, qapp, controller, ca_pem, fake_server, user32):
    window = start_working(qtbot, controller, raw_config(ca_pem))
    popup = _HomeMadePopup(window)
    user32.refusing = True
    QTimer.singleShot(0, popup.accept)
    popup.exec()
    qtbot.waitUntil(lambda: len(fake_server.client_reports) == 2, timeout=TIMEOUT)
    assert fake_server.client_reports[1].window == "other"


def test_the_login_and_record_windows_are_excluded_and_a_refusal_reaches_the_server(
    qtbot, qapp, controller, ca_pem, fake_server, user32
):
    window = start_working(qtbot, controller, raw_config(ca_pem))
    login = controller._login_window  # noqa: SLF001 - the window shown before the record window
    assert calls_for(user32, login) == [(int(login.winId()), WDA_EXCLUDEFROMCAPTURE)]
    assert calls_for(user32, window) == [(int(window.winId()), WDA_EXCLUDEFROMCAPTURE)]
    box = QMessageBox(window)
    user32.refusing = True
    QTimer.singleShot(0, box.accept)
    box.exec()
    qtbot.waitUntil(lambda: len(fake_server.client_reports) == 2, timeout=TIMEOUT)
    refusal = fake_server.client_reports[1]
    assert (refusal.kind, refusal.window) == ("capture_exclusion_refused", "QMessageBox")


def test_idle_lock_hides_the_record_ends_the_session_and_work_goes_on_after_login(
    qtbot, controller, ca_pem, fake_server, clock
):
    window = start_working(qtbot, controller, raw_config(ca_pem, idle_lock_minutes=2))
    assert window.current_lease_id == "lease-1"
    idle = controller.guards.idle
    clock.now += 89
    idle.check()
    assert window._notice.text() == ""  # noqa: SLF001 - not yet: 31 s left
    clock.now += 1
    with qtbot.waitSignal(idle.warning) as warned:
        idle.check()
    assert warned.args == [30]
    assert "in 30 s the record is hidden" in window._notice.text()  # noqa: SLF001 - the notice the agent reads
    qtbot.keyClick(window, Qt.Key.Key_Shift)  # input: the lock is off again
    assert window._notice.text() == ""  # noqa: SLF001
    clock.now += 119
    idle.check()
    assert controller.record_window is window
    clock.now += 1
    idle.check()  # two minutes without input
    assert controller.record_window is None
    login = controller._login_window  # noqa: SLF001
    assert login.isVisible()
    assert login.message_label.text() == "Locked after 2 min without input. Log in again."
    qtbot.waitUntil(lambda: not controller.service._api.logged_in, timeout=TIMEOUT)  # noqa: SLF001 - tokens gone
    # The password again: the still-open lease comes back and the hide was reported.
    login.password_edit.setText(PASSWORD)
    qtbot.keyClick(login.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: controller.record_window is not None and controller.record_window.current_lease_id is not None,
        timeout=TIMEOUT,
    )
    assert controller.record_window.current_lease_id == "lease-1"
    qtbot.waitUntil(lambda: controller.service.pending_events == 0, timeout=TIMEOUT)
    assert [kind for kind, _ in fake_server.kinds()] == ["record_displayed", "record_hidden", "record_displayed"]
    assert controller.guards.idle is not None and controller.guards.idle.running  # locks again
