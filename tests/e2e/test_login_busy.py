"""A full login queue is answered ``503 server_busy`` with ``Retry-After``, and the agent client comes back after it.

One real ``custos-server serve`` over TLS on loopback (SQLite), its login gate
at one check and no queue (``[sessions] login_checks = 1``, ``login_queue = 0``),
several agents logging in at the same moment: every request is answered, the
ones beyond the gate at once with a 503 that says when to come back, and
agents using the real client (:class:`agent_client.api.AgentApi`) all end up
logged in, having waited at least what the server asked.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from agent_client.api import AgentApi
from agent_client.credentials import DeviceIdentity
from shared.errors import ErrorCode
from tests.support.multi_server import AGENT_PASSWORD, contained_policy, free_port, seed, serve
from tests.support.wire_agent import WireAgent, login_body, tls_context

pytestmark = [pytest.mark.e2e]

AGENTS = 8


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("busy")
    seeded = seed(root, "", policy=contained_policy(), contacts=50, agents={"BPO": AGENTS})
    settings = seeded.data_dir / "settings.toml"
    gate = "login_checks = 1\nlogin_queue = 0"
    text, count = re.subn(r"(?m)^login_checks = \d+\nlogin_queue = \d+$", gate, settings.read_text("utf-8"))
    assert count == 1, "init writes the [sessions] defaults"
    settings.write_text(text, "utf-8")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    with serve(seeded.data_dir, port, root / "server.log"):
        wires = []
        for login, code in seeded.agents["BPO"]:
            wire = WireAgent([url], seeded.ca)
            wire.enrol(code)
            wires.append((login, wire))
        yield seeded, url, wires
        for _, wire in wires:
            wire.close()


def _all_at_once(task, items):
    start = threading.Barrier(len(items))

    def one(item):
        start.wait(timeout=60)
        return task(item)

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(one, items))


def test_logins_beyond_the_gate_are_answered_503_with_retry_after(server):
    _, _, wires = server
    nonce = lambda wire: wire.post("/nonce", {"device_id": wire.device_id}).json()["nonce"]  # noqa: E731
    nonces = [(name, wire, nonce(wire)) for name, wire in wires]

    def login(item):
        name, wire, nonce = item
        body = login_body(wire.key, login=name, password=AGENT_PASSWORD, device_id=wire.device_id, nonce=nonce)
        return wire.post("/login", body)

    answers = _all_at_once(login, nonces)
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) == {200, 503}, statuses  # every request answered: logged in, or told to come back
    for busy in (a for a in answers if a.status_code == 503):
        assert busy.json()["code"] == ErrorCode.SERVER_BUSY
        assert busy.headers["Retry-After"].isdigit() and int(busy.headers["Retry-After"]) >= 1


def test_the_agent_client_waits_retry_after_with_jitter_and_every_agent_logs_in(server):
    seeded, url, wires = server
    waits: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            waits.append(seconds)
        time.sleep(seconds)

    def login(item):
        name, wire = item
        api = AgentApi(f"{url}/api/v1/agent/", ssl_context=tls_context(seeded.ca), sleep=sleep)
        try:
            identity = DeviceIdentity(device_id=wire.device_id, login=name, private_key=wire.key)
            return api.login(identity, login=name, password=AGENT_PASSWORD)
        finally:
            api.close()

    responses = _all_at_once(login, wires)
    assert [r.agent_login for r in responses] == [name for name, _ in wires]
    assert waits, "no login was told to wait"
    assert min(waits) >= 1.0  # never earlier than Retry-After (whole seconds, at least 1)
