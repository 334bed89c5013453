"""The agent's loop with the real client: record → Call → rings → answered → bridged → hang up → outcome → next.

Run by :mod:`tests.e2e.test_agent_call_flow` in its own pytest process on a
private Xvfb display (``QT_QPA_PLATFORM=xcb``), so the record window is a real
X11 window; it is not collected by itself (no ``test_`` prefix). The server is
``custos-server serve`` as a process, the PBX is the ARI double as another.
"""

from __future__ import annotations

import re
import tomllib

import pytest
import tomli_w
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from agent_client.app import StartOptions
from agent_client.config import load_deployment_config
from owner_server.demo.sample import expected_phones, generate_contacts
from tests.support.ari_process import ari_double, read_log

from .client_support import TIMEOUT_MS, real_controller
from .conftest import AGENT_PASSWORD, CONTACTS, POLICY, cli, free_port, prepare_installation, running_server

ALL_DAY = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "23:59"}]


def texts(window) -> list[str]:
    return [label.text() for label in window.findChildren(QLabel)]


@pytest.fixture
def installation(tmp_path):
    policy = tomllib.loads(POLICY.read_text(encoding="utf-8"))
    policy.setdefault("strategy", {})["windows"] = ALL_DAY  # the test runs at any hour
    policy["fields"]["customer_id"] = {"mode": "after_answer", "label": "Nr klienta"}
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(tomli_w.dumps(policy), encoding="utf-8")
    port = free_port()
    data_dir, added = prepare_installation(tmp_path, port, policy=policy_file)
    cli(data_dir, "agent", "set-phone", "anna.k", "--endpoint", "PJSIP/1001")
    return port, data_dir, added["anna.k"]["enrolment_code"]


def test_the_agent_loop_with_the_real_client(qtbot, qapp, tmp_path, installation):
    port, data_dir, code = installation
    bodies: list[bytes] = []
    customer_ids = {row["Nr klienta"] for row in generate_contacts(CONTACTS) if row.get("Nr klienta")}
    with ari_double(tmp_path, "answered") as (ari_port, ari_log):
        (data_dir / "telephony.toml").write_text(
            f'provider = "ari"\n[ari]\nurl = "http://127.0.0.1:{ari_port}"\nuser = "custos"\n'
            'password = "ari-secret"\napp = "custos"\n',
            encoding="utf-8",
        )
        with (
            running_server(data_dir, port, tmp_path / "server.log"),
            real_controller(qapp, tmp_path / "profile", on_response=bodies.append) as controller,
        ):
            config, raw = load_deployment_config(data_dir / "deployment" / "custos-agent.toml")
            controller.start(config, raw, StartOptions(enrol_code=code, login="anna.k", password=AGENT_PASSWORD))
            qtbot.waitUntil(lambda: controller.record_window is not None, timeout=TIMEOUT_MS)
            window = controller.record_window
            qtbot.waitUntil(lambda: window.current_lease_id is not None, timeout=TIMEOUT_MS)
            first = window.current_lease_id
            panel = window.panel
            assert not any(b.isEnabled() for b in panel.outcome_panel.buttons.values())
            assert not customer_ids & set(texts(window))  # after_answer: not in the preview
            states: list[str] = []
            controller._connection.calls.call_updated.connect(lambda c: states.append(c.state))  # noqa: SLF001
            qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT_MS)  # raised and focused when it opened
            qtbot.keyClick(window, Qt.Key.Key_F9)
            qtbot.waitUntil(lambda: panel.call_panel.state_label.text() == "Connected", timeout=TIMEOUT_MS)
            shown = customer_ids & set(texts(window))
            assert len(shown) == 1  # the after_answer field while the customer is on the line
            qtbot.keyClick(window, Qt.Key.Key_F10)
            qtbot.waitUntil(lambda: panel.call_panel.state_label.text() == "Call ended", timeout=TIMEOUT_MS)
            assert not customer_ids & set(texts(window))  # withdrawn when the call ended
            assert all(b.isEnabled() for b in panel.outcome_panel.buttons.values())
            qtbot.keyClick(window, Qt.Key.Key_F2)
            qtbot.waitUntil(lambda: window.current_lease_id not in (None, first), timeout=TIMEOUT_MS)  # the next record
    assert "answered" in states and states[-1] == "ended"
    phones = [p.removeprefix("+48") for p in expected_phones(CONTACTS)]
    requests = read_log(ari_log)
    with_number = [e for e in requests if any(d in str(e) for d in phones)]
    assert len(with_number) == 1 and with_number[0]["body"]["endpoint"].endswith("@owner-trunk")
    agent_leg = [e for e in requests if "PJSIP/1001" in str(e)]
    assert agent_leg and not any(d in str(agent_leg) for d in phones)
    received = b"\n".join(bodies).decode("utf-8", errors="replace")
    digits = set(re.findall(r"\d{6,}", received))
    for number in phones:
        assert number not in received and not any(number[i : i + 6] in digits for i in range(len(number) - 5))
