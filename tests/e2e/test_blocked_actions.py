"""End to end: a copy attempt in the real record window ends up in the server's audit log.

Its own server (the ``live_server`` fixture is per module), enrolled and
logged in through the client's own code, as in ``test_walking_skeleton``.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from agent_client.app import StartOptions
from agent_client.config import load_deployment_config

from .client_support import TIMEOUT_MS, real_controller
from .conftest import cli

pytestmark = pytest.mark.e2e


@pytest.fixture
def controller(qtbot, qapp, live_server, tmp_path):
    with real_controller(qapp, tmp_path) as ctl:
        yield ctl


def _audited(live_server, action):
    db = sqlite3.connect(live_server.data_dir / "custos.db")
    try:
        rows = db.execute(
            "SELECT object_id, details FROM auditentry WHERE action = ? ORDER BY seq", (action,)
        ).fetchall()
        stored = db.execute("SELECT kind, detail, lease_id FROM display_event ORDER BY id").fetchall()
    finally:
        db.close()
    return [(object_id, json.loads(details)) for object_id, details in rows], stored


def test_ctrl_c_in_the_record_window_is_audited_as_a_blocked_copy(qtbot, qapp, controller, live_server):
    config, raw = load_deployment_config(live_server.deployment)
    controller.start(
        config,
        raw,
        StartOptions(enrol_code=live_server.enrolment_code, login=live_server.login, password=live_server.password),
    )
    qtbot.waitUntil(
        lambda: controller.record_window is not None and controller.record_window.current_lease_id is not None,
        timeout=TIMEOUT_MS,
    )
    window = controller.record_window
    lease_id = window.current_lease_id
    qapp.clipboard().setText("planted")
    target = next(label for label in window.findChildren(QLabel) if label.text())
    qtbot.keyClick(target, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert qapp.clipboard().text() == ""
    qtbot.waitUntil(lambda: controller.service.pending_events == 0, timeout=TIMEOUT_MS)

    entries, stored = _audited(live_server, "action_blocked")
    assert len(entries) == 1
    object_id, details = entries[0]
    assert details["detail"] == "copy"
    assert details["lease_id"] == lease_id
    assert object_id  # the contact's reference, never its data
    assert ("action_blocked", "copy", lease_id) in stored
    verify = cli(live_server.data_dir, "audit", "verify", "--json", check=False)
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["ok"]
