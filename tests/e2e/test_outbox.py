"""End to end: nothing the agent did is lost, with the real client code against a real server process.

The server goes away mid-shift and comes back; an answer is lost after the server committed;
a shift outlives the access token. Each time the outcome is stored exactly once (database and
audit), and the agent never sees the login window.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from agent_client.app import StartOptions
from agent_client.config import load_deployment_config
from owner_server.demo.sample import generate_contacts
from tests.agent_client.agent_fakes import say_no_call
from tests.support.multi_server import set_session_settings

from .client_support import TIMEOUT_MS, real_controller
from .conftest import AGENT_PASSWORD, CONTACTS, REPO, free_port, prepare_installation, running_server
from .outbox_support import DroppingProxy, db_rows, relaxed_policy, stored_outcomes

pytestmark = pytest.mark.e2e


def _texts(window) -> str:
    return "\n".join(label.text() for label in window.findChildren(QLabel) if label.isVisible())


@pytest.fixture
def installation(tmp_path_factory):
    root = tmp_path_factory.mktemp("outbox")
    port = free_port()
    data_dir, added = prepare_installation(root, port, policy=relaxed_policy(root))
    return root, port, data_dir, added["anna.k"]["enrolment_code"]


def _start(ctl, data_dir, code, *, server_url: str | None = None) -> None:
    config, raw = load_deployment_config(data_dir / "deployment" / "custos-agent.toml")
    if server_url is not None:
        config = dataclasses.replace(config, server_url=server_url)
    ctl.start(config, raw, StartOptions(enrol_code=code, login="anna.k", password=AGENT_PASSWORD))


def _wait_record(qtbot, ctl, other_than=None) -> str:
    qtbot.waitUntil(
        lambda: ctl.record_window is not None and ctl.record_window.current_lease_id not in (None, other_than),
        timeout=TIMEOUT_MS,
    )
    return ctl.record_window.current_lease_id


def test_an_outcome_pressed_while_the_server_is_down_arrives_once_it_is_back(qtbot, qapp, installation):
    root, port, data_dir, code = installation
    with real_controller(qapp, root / "client", timeout_s=2.0) as ctl:
        with running_server(data_dir, port, root / "server-1.log"):
            _start(ctl, data_dir, code)
            lease = _wait_record(qtbot, ctl)
            qtbot.waitUntil(lambda: ctl.service.pending_events == 0, timeout=TIMEOUT_MS)
        window = ctl.record_window
        say_no_call(window)
        qtbot.keyClick(window, Qt.Key.Key_F2)  # the server is gone
        qtbot.waitUntil(lambda: "Waiting for the server: outcomes 1" in _texts(window), timeout=TIMEOUT_MS)
        assert window.current_lease_id is None
        assert stored_outcomes(data_dir, lease) == (0, 0)
        with running_server(data_dir, port, root / "server-2.log"):
            _wait_record(qtbot, ctl, other_than=lease)
            qtbot.waitUntil(lambda: ctl.service.pending_events == 0, timeout=TIMEOUT_MS)
            assert ctl.service.pending_outcomes == 0
        assert stored_outcomes(data_dir, lease) == (1, 1)
        assert ctl._login_window is None or not ctl._login_window.isVisible()  # noqa: SLF001


def test_a_retry_after_a_lost_answer_stores_the_outcome_once(qtbot, qapp, installation):
    root, port, data_dir, code = installation
    with (
        running_server(data_dir, port, root / "server.log"),
        DroppingProxy(f"https://127.0.0.1:{port}", data_dir / "tls", "/api/v1/agent/dispositions") as proxy,
        real_controller(qapp, root / "client", timeout_s=3.0) as ctl,
    ):
        _start(ctl, data_dir, code, server_url=f"https://127.0.0.1:{proxy.port}")
        lease = _wait_record(qtbot, ctl)
        say_no_call(ctl.record_window)
        qtbot.keyClick(ctl.record_window, Qt.Key.Key_F2)
        _wait_record(qtbot, ctl, other_than=lease)
        qtbot.waitUntil(lambda: ctl.service.pending_events == 0, timeout=TIMEOUT_MS)
        assert proxy.dropped == 1
        assert proxy.forwarded.count("/api/v1/agent/dispositions") == 2  # sent again, same outcome id
        assert stored_outcomes(data_dir, lease) == (1, 1)
        events = db_rows(data_dir, "SELECT count(*), count(DISTINCT event_id) FROM display_event")[0]
        assert events[0] == events[1]


def test_a_shift_longer_than_the_token_never_meets_the_login_window(qtbot, qapp, installation):
    root, port, data_dir, code = installation
    set_session_settings(data_dir, access_token_ttl_s=5)
    with running_server(data_dir, port, root / "server.log"), real_controller(qapp, root / "client") as ctl:
        _start(ctl, data_dir, code)
        lease = _wait_record(qtbot, ctl)
        login_window = ctl._login_window  # noqa: SLF001
        qtbot.wait(7000)  # the access token of the login has expired by now
        assert ctl.record_window.current_lease_id == lease
        say_no_call(ctl.record_window)
        qtbot.keyClick(ctl.record_window, Qt.Key.Key_F2)
        _wait_record(qtbot, ctl, other_than=lease)
        assert stored_outcomes(data_dir, lease) == (1, 1)
        assert login_window is None or not login_window.isVisible()
        sessions = db_rows(data_dir, "SELECT session_id, refreshes, ended_at FROM agent_session")
        assert len(sessions) == 1 and sessions[0][1] >= 1 and sessions[0][2] is None  # one session, refreshed
        audited = db_rows(data_dir, "SELECT count(*) FROM auditentry WHERE action = 'session_refreshed'")[0][0]
        assert audited >= 1


def _client(root, data_dir, *extra: str):
    args = [
        sys.executable,
        "-m",
        "tests.e2e.client_process",
        str(data_dir / "deployment" / "custos-agent.toml"),
        str(root / "profile"),
        str(root / "keyring.json"),
        *extra,
    ]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    proc.stdin.write(AGENT_PASSWORD + "\n")
    proc.stdin.flush()
    return proc


def _read_until(proc, prefix: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"the client exited before saying {prefix!r}")
        if line.startswith(prefix):
            return line.split()[1] if len(line.split()) > 1 else ""
    raise AssertionError(f"the client did not say {prefix!r}")


def test_kill_9_after_the_outcome_was_pressed_and_before_it_was_sent(installation):
    root, port, data_dir, code = installation
    with running_server(data_dir, port, root / "server.log"):
        first = _client(root, data_dir, "--enrol-code", code, "--press", "--hold", "/api/v1/agent/dispositions")
        try:
            lease = _read_until(first, "RECORD ")
            _read_until(first, "HELD")  # stored in the outbox, the request stopped before it left
            assert stored_outcomes(data_dir, lease) == (0, 0)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            first.kill()
            first.stdout.close()
            first.stdin.close()
        files = list((root / "profile").glob("outbox-*"))
        assert files
        second = _client(root, data_dir)  # the same computer, started again: logs in, sends what waits first
        try:
            following = _read_until(second, "RECORD ")
            assert following != lease
            assert stored_outcomes(data_dir, lease) == (1, 1)
            raw = b"".join(p.read_bytes() for p in (root / "profile").glob("outbox-*"))
            values = {v for row in generate_contacts(CONTACTS) for v in row.values() if len(v) >= 6}
            assert values and not [v for v in values if v.encode() in raw]  # no value of the list on the agent's disk
        finally:
            second.terminate()
            second.wait(timeout=15)
            second.stdout.close()
            second.stdin.close()
