"""The update service: checks on a worker thread, tells the record window, stays quiet when off."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from PySide6.QtWidgets import QLabel

from agent_client.config import load_deployment_config
from agent_client.update_service import UpdateService, make_update_service
from agent_client.views.record_window import RecordWindow
from owner_server.api.app import create_app
from owner_server.core.datadir import DEPLOYMENT_FILE
from tests.support.updates import RecordingEdge, checker, init_repository, installer


@pytest.fixture
def app_client(installation, tmp_path):
    repo = init_repository(installation, tmp_path / "rootkeys")
    repo.add(installer(tmp_path, "0.2.0"), version="0.2.0", platform="windows")
    client = TestClient(create_app(installation.settings, engine=installation.engine, keys=installation.keys))
    yield repo, client
    client.close()


def _notice_texts(window: RecordWindow) -> list[str]:
    return [label.text() for label in window.findChildren(QLabel) if label.isVisible() and "0.2.0" in label.text()]


def test_a_found_update_reaches_the_record_window(qtbot, qapp, installation, app_client, tmp_path):
    _repo, client = app_client
    edge = RecordingEdge()
    service = UpdateService(lambda: checker(installation, client, tmp_path / "cache", edge=edge))
    window = RecordWindow("agent.one", "Demo", qapp.clipboard(), clock=lambda: datetime(2024, 5, 1, 9, 30))
    qtbot.addWidget(window)
    window.show()
    service.attach(window)
    with qtbot.waitSignal(service.update_found, timeout=30_000) as found:
        service.start()
    assert found.args == ["0.2.0", "install_on_exit"]
    assert edge.prepared and edge.prepared[0].installer.is_file()
    assert _notice_texts(window) == ["Custos 0.2.0 is ready and installs when you close the client."]
    late = RecordWindow("agent.one", "Demo", qapp.clipboard())
    qtbot.addWidget(late)
    late.show()
    service.attach(late)  # a window opened after the check still hears of it
    assert _notice_texts(late)
    service.finish()


def test_a_refused_repository_is_reported_not_shown(qtbot, installation, app_client, tmp_path):
    repo, client = app_client
    stored = next(repo.layout.targets.iterdir())
    stored.write_bytes(b"x" * stored.stat().st_size)
    service = UpdateService(lambda: checker(installation, client, tmp_path / "cache"))
    found = []
    service.update_found.connect(lambda *args: found.append(args))
    with qtbot.waitSignal(service.check_failed, timeout=30_000) as failed:
        service.start()
    assert failed.args == ["update refused: LengthOrHashMismatchError", True]
    assert found == [] and service.offer is None
    service.finish()


def test_off_without_a_provisioned_root_or_when_the_config_says_so(installation, monkeypatch, tmp_path):
    config, _ = load_deployment_config(installation.settings.data_dir / DEPLOYMENT_FILE)
    monkeypatch.setattr("agent_client.update_service.read_trusted_root", lambda: None)
    assert not make_update_service(config).enabled
    monkeypatch.setattr("agent_client.update_service.read_trusted_root", lambda: b"{}")
    assert make_update_service(config).enabled
    off = type(config)(**{**{f: getattr(config, f) for f in config.__dataclass_fields__}, "update_check": False})
    assert not make_update_service(off).enabled


def test_python_tuf_is_not_loaded_at_start():

    probe = (
        "import sys, agent_client.main; print(sorted(m for m in sys.modules if m.split('.')[0] in ('tuf', 'urllib3')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"  # loaded on the worker by the first check
