"""The first window comes before the connection: what start-up imports, which window, then start()."""

import json
import subprocess
import sys

import pytest
import tomli_w
from PySide6.QtWidgets import QWidget

from agent_client.api import AgentApi
from agent_client.app import AppController, Connection, StartOptions
from agent_client.config import parse_deployment_config
from agent_client.credentials import CredentialStore, DeviceIdentity, MemoryKeyring, new_device_key
from agent_client.errors import CredentialStoreUnavailable
from agent_client.first_window import FALLBACK_MS, when_shown
from agent_client.service import AgentService
from agent_client.views.enrolment_dialog import EnrolmentDialog
from agent_client.views.login_window import LoginWindow
from tests.agent_client.agent_fakes import BASE_URL, FakeAgentServer

HEAVY = ("httpx", "pydantic", "cryptography", "sqlite3", "agent_client.service", "agent_client.outbox")


def test_the_entry_point_imports_none_of_the_connection():
    code = f"import json, sys; import agent_client.main; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == []


@pytest.fixture
def config(ca_pem):
    raw = tomli_w.dumps(
        {"server_url": "https://custos.test:8443", "organisation": "Demo Telecom", "ca_certificate": ca_pem}
    )
    return parse_deployment_config(raw.encode()), raw.encode()


class Connector:
    """Counts connections; the service is never used by these tests (no window is submitted)."""

    def __init__(self, backend):
        self.backend = backend
        self.calls = 0
        self.server = FakeAgentServer()

    def __call__(self, deployment):
        self.calls += 1
        api = AgentApi(BASE_URL, transport=self.server.transport())
        store = CredentialStore(deployment.server_url, self.backend)
        return Connection(config=deployment, store=store, service=AgentService(api, device_name="pc"))


@pytest.fixture
def backend():
    return MemoryKeyring()


@pytest.fixture
def controller(qapp, backend, tmp_path):
    connector = Connector(backend)
    made = AppController(qapp.clipboard(), connector, config_dir=tmp_path)
    made.connector = connector
    yield made
    made.shutdown()
    for widget in qapp.topLevelWidgets():
        widget.close()


def test_not_enrolled_the_enrolment_dialog_first_then_start_connects_and_keeps_it(controller, config, backend):
    deployment, raw = config
    first = controller.show_first_window(
        deployment, StartOptions(), lambda: CredentialStore(deployment.server_url, backend)
    )
    assert isinstance(first, EnrolmentDialog) and first.isVisible()
    assert controller.connector.calls == 0
    controller.start(deployment, raw, StartOptions())
    assert controller.connector.calls == 1
    assert controller._enrolment is first and first.isVisible()  # noqa: SLF001 - the same dialog, not a second one


def test_enrolled_the_login_window_first_with_the_bound_login(controller, config, backend):
    deployment, raw = config
    store = CredentialStore(deployment.server_url, backend)
    store.save(DeviceIdentity(device_id="dev-1", login="agent.one", private_key=new_device_key()))
    first = controller.show_first_window(deployment, StartOptions(), lambda: store)
    assert isinstance(first, LoginWindow) and first.isVisible()
    assert first.login_edit.text() == "agent.one"
    assert controller.connector.calls == 0
    controller.start(deployment, raw, StartOptions())
    assert controller._login_window is first  # noqa: SLF001 - start() shows the same window


def test_a_login_submitted_before_start_connected_is_sent_once_it_has(qtbot, controller, config, backend):
    deployment, raw = config
    store = CredentialStore(deployment.server_url, backend)
    store.save(DeviceIdentity(device_id="dev-1", login="agent.one", private_key=new_device_key()))
    first = controller.show_first_window(deployment, StartOptions(), lambda: store)
    first.login_submitted.emit("agent.one", "a password")
    qtbot.wait(50)  # several event-loop turns: nothing can be sent yet
    assert controller.connector.server.requests == []
    controller.start(deployment, raw, StartOptions())
    qtbot.waitUntil(lambda: "nonce" in [path for path, _ in controller.connector.server.requests], timeout=5000)


def test_with_an_enrolment_code_or_no_keyring_no_window_first(controller, config, backend):
    deployment, _ = config
    assert (
        controller.show_first_window(
            deployment, StartOptions(enrol_code="ABCD-EFGH"), lambda: CredentialStore(deployment.server_url, backend)
        )
        is None
    )

    def no_keyring():
        raise CredentialStoreUnavailable("no OS keyring")

    assert controller.show_first_window(deployment, StartOptions(), no_keyring) is None  # start() reports it


def test_when_shown_calls_back_once_after_the_window_is_exposed(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    calls = []
    widget.show()
    when_shown(widget, lambda: calls.append(widget.windowHandle().isExposed()))
    qtbot.waitUntil(lambda: calls == [True])
    qtbot.wait(FALLBACK_MS + 200)  # the fallback has passed too
    assert calls == [True]


def test_the_enrolment_hint_follows_a_persistent_store_only(tmp_path, monkeypatch):
    """The first window is chosen from a non-secret hint, so start-up need not open the keyring."""
    from agent_client import enrolment_hint

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    import keyring.backend

    class DiskKeyring(keyring.backend.KeyringBackend):
        """Stands for the OS keyring: a store that outlives the process (never chosen by keyring itself)."""

        priority = 1  # a secure store for check_backend; taken off keyring's list below

        def __init__(self):
            super().__init__()
            self.values = {}

        def get_password(self, service, username):
            return self.values.get((service, username))

        def set_password(self, service, username, password):
            self.values[(service, username)] = password

        def delete_password(self, service, username):
            self.values.pop((service, username), None)

    keyring.backend.KeyringBackend._classes.discard(DiskKeyring)  # noqa: SLF001 - never chosen by keyring
    url = "https://custos.test:8443"
    memory = CredentialStore(url, MemoryKeyring())
    memory.save(DeviceIdentity(device_id="dev-1", login="agent.one", private_key=new_device_key()))
    assert enrolment_hint.enrolled_login(url) is None  # an ephemeral identity leaves no trace on disk
    store = CredentialStore(url, DiskKeyring())
    store.save(DeviceIdentity(device_id="dev-1", login="agent.one", private_key=new_device_key()))
    assert enrolment_hint.enrolled_login(url) == "agent.one"
    hint_files = list((tmp_path / "custos-agent").glob("enrolled-*"))
    assert len(hint_files) == 1 and hint_files[0].read_text().strip() == "agent.one"  # the login, never a key
    store.forget()
    assert enrolment_hint.enrolled_login(url) is None


def test_a_wrong_hint_is_corrected_by_start(controller, config, backend):
    deployment, raw = config
    first = controller.show_first_window(
        deployment, StartOptions(), lambda: CredentialStore(deployment.server_url, backend), lambda: "agent.one"
    )
    assert isinstance(first, LoginWindow) and first.login_edit.text() == "agent.one"
    controller.start(deployment, raw, StartOptions())  # the keyring has no identity: enrol instead
    assert controller._enrolment is not None and controller._enrolment.isVisible()  # noqa: SLF001
