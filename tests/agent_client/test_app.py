import pytest
import tomli_w
from PySide6.QtCore import QEvent, Qt, QThreadPool
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from agent_client.api import AgentApi
from agent_client.app import AppController, Connection, StartOptions
from agent_client.config import parse_deployment_config
from agent_client.credentials import CredentialStore, MemoryKeyring
from agent_client.service import AgentService
from tests.agent_client.agent_fakes import BASE_URL, ENROL_CODE, PASSWORD

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
    window.disposition_chosen.emit("lease-1", "sale")
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
