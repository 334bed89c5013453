"""End to end: the real client against a real server whose campaign allows 2 records an hour.

The agent works two records with the keyboard; the third request is refused by the server and
the record window says so plainly, with the count and the local time of the next record.
"""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from agent_client.app import StartOptions
from agent_client.config import load_deployment_config
from tests.agent_client.agent_fakes import say_no_call

from .client_support import TIMEOUT_MS, real_controller
from .conftest import AGENT_PASSWORD, POLICY, free_port, prepare_installation, running_server

pytestmark = pytest.mark.e2e

LIMITS = """
[limits]
per_hour = 2
per_day = 2

[rules.short_handling]
enabled = false

[rules.hours]
enabled = false
"""


def _texts(window) -> str:
    return "\n".join(label.text() for label in window.findChildren(QLabel))


def test_the_agent_sees_the_count_then_the_limit_with_the_next_time(qtbot, qapp, tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    policy = root / "policy.toml"
    base = POLICY.read_text(encoding="utf-8")
    policy.write_text(re.sub(r"(?ms)^# Containment.*", "", base) + LIMITS, encoding="utf-8")
    port = free_port()
    data_dir, added = prepare_installation(root, port, policy=policy)
    with running_server(data_dir, port, root / "server.log"), real_controller(qapp, root / "client") as ctl:
        config, raw = load_deployment_config(data_dir / "deployment" / "custos-agent.toml")
        code = added["anna.k"]["enrolment_code"]
        ctl.start(config, raw, StartOptions(enrol_code=code, login="anna.k", password=AGENT_PASSWORD))
        qtbot.waitUntil(
            lambda: ctl.record_window is not None and ctl.record_window.current_lease_id, timeout=TIMEOUT_MS
        )
        window = ctl.record_window
        qtbot.waitUntil(lambda: "1 of 2 this hour" in _texts(window), timeout=TIMEOUT_MS)
        first = window.current_lease_id
        say_no_call(window)
        qtbot.keyClick(window, Qt.Key.Key_F2)
        qtbot.waitUntil(lambda: window.current_lease_id not in (None, first), timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: "2 of 2 this hour" in _texts(window), timeout=TIMEOUT_MS)
        say_no_call(window)
        qtbot.keyClick(window, Qt.Key.Key_F2)
        qtbot.waitUntil(lambda: "records a day reached" in _texts(window), timeout=TIMEOUT_MS)
        assert window.current_lease_id is None
        assert re.search(r"Limit of 2 records a day reached; next at .*\d\d:\d\d", _texts(window))
