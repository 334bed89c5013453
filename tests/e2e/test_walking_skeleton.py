"""End to end: real server process over HTTPS, real client code, real record window.

Enrols and logs in through the client's own code, drives the record window
with pytest-qt, records a disposition, checks the audit log with the real
CLI, then tampers with one byte of one entry and checks that ``audit verify``
names it. Every raw response body the client received is kept for the leak
check.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from agent_client.app import StartOptions
from agent_client.config import load_deployment_config
from tests.agent_client.agent_fakes import say_no_call
from tests.support.leaks import phone_pattern

from .client_support import TIMEOUT_MS, real_controller
from .conftest import cli

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bodies():
    return []


@pytest.fixture
def controller(qtbot, qapp, live_server, bodies, tmp_path):
    with real_controller(qapp, tmp_path, on_response=bodies.append) as ctl:
        yield ctl


def shown_texts(window) -> str:
    return "\n".join(label.text() for label in window.findChildren(QLabel))


def test_one_record_end_to_end(qtbot, controller, live_server, bodies):
    config, raw = load_deployment_config(live_server.deployment)
    controller.start(
        config,
        raw,
        StartOptions(enrol_code=live_server.enrolment_code, login=live_server.login, password=live_server.password),
    )
    first_names = {row["Imię"] for row in live_server.sample_rows}

    def record_on_screen() -> bool:
        window = controller.record_window
        return window is not None and any(name in shown_texts(window) for name in first_names)

    qtbot.waitUntil(record_on_screen, timeout=TIMEOUT_MS)  # a record from the generated list is on screen
    window = controller.record_window
    first_lease = window.current_lease_id
    assert first_lease
    assert "•••" in shown_texts(window)  # the phone mask
    for label in window.findChildren(QLabel):
        assert label.textInteractionFlags() == Qt.TextInteractionFlag.NoTextInteraction

    buttons = [b for b in window.findChildren(QPushButton) if "F2" in b.text() or "Not interested" in b.text()]
    assert buttons, "disposition buttons are shown"
    say_no_call(window)
    qtbot.keyClick(window, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: window.current_lease_id not in (None, first_lease), timeout=TIMEOUT_MS)

    # the display events reach the server
    qtbot.waitUntil(
        lambda: controller.service is not None and controller.service.pending_events == 0, timeout=TIMEOUT_MS
    )
    verify = cli(live_server.data_dir, "audit", "verify", "--json", check=False)
    assert verify.returncode == 0, verify.stderr
    result = json.loads(verify.stdout)
    db = sqlite3.connect(live_server.data_dir / "custos.db")
    actions = [row[0] for row in db.execute("SELECT action FROM auditentry ORDER BY seq")]
    db.close()
    for needed in (
        "device_enrolled",
        "login",
        "record_issued",
        "record_displayed",
        "record_hidden",
        "disposition_recorded",
    ):
        assert needed in actions
    assert result["ok"] and result["entries"] == len(actions)


def test_no_phone_or_hidden_field_reached_the_agent(live_server, bodies):
    assert len(bodies) >= 5, "the flow above ran and its responses were captured"
    texts = []
    for body in bodies:
        raw = body.decode("utf-8")
        texts.append(raw)
        with contextlib.suppress(ValueError):
            texts.append(json.dumps(json.loads(raw), ensure_ascii=False))
    blob = "\n".join(texts)
    for phone in live_server.phones:
        assert not phone_pattern(phone).search(blob), "a phone number reached the agent"
    hidden = {"E-mail", "Adres", "Kod pocztowy"}
    for row in live_server.sample_rows:
        for column in hidden:
            assert row[column] not in blob, f"hidden field {column} reached the agent"


def test_tampered_audit_entry_is_named(live_server):
    db = sqlite3.connect(live_server.data_dir / "custos.db")
    seq, details = db.execute(
        "SELECT seq, details FROM auditentry WHERE action = 'record_issued' ORDER BY seq LIMIT 1"
    ).fetchone()
    flipped = details.replace("1", "2", 1) if "1" in details else details + " "
    db.execute("UPDATE auditentry SET details = ? WHERE seq = ?", (flipped, seq))
    db.commit()
    db.close()
    verify = cli(live_server.data_dir, "audit", "verify", check=False)
    assert verify.returncode == 1
    assert f"entry {seq}" in verify.stderr


def test_server_log_holds_no_personal_data(live_server):
    log = live_server.server_log.read_text(encoding="utf-8", errors="replace")
    assert "POST /api/v1/agent/next" in log  # the log is real and covers the flow
    for phone in live_server.phones:
        assert not phone_pattern(phone).search(log)
    for row in live_server.sample_rows:
        for column in ("E-mail", "Adres", "Nazwisko", "Nr klienta"):
            assert row[column] not in log
