"""The demo installation dials through the simulated telephony: a newcomer sees a call end to end."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from owner_server.api.app import create_app
from owner_server.cli.demo import DEMO_AGENT, prepare_demo
from owner_server.core.datadir import open_installation
from owner_server.telephony.runtime import Telephony
from owner_server.telephony.settings import SimulatedSettings, TelephonySettings, load_telephony_settings

from .call_support import API, DeviceKey, Recorder

WANTED = ("dialing", "agent_ringing", "customer_ringing", "answered", "ended")


def _login(client, code, password):
    device = DeviceKey()
    enrol = {"enrolment_code": code, "device_public_key": device.public_b64, "device_name": "pc"}
    device_id = client.post(f"{API}/enrol", json=enrol).json()["device_id"]
    nonce = client.post(f"{API}/nonce", json={"device_id": device_id}).json()["nonce"]
    body = {
        "login": DEMO_AGENT,
        "password": password,
        "device_id": device_id,
        "nonce": nonce,
        "signature": device.sign(DEMO_AGENT, device_id, nonce),
    }
    r = client.post(f"{API}/login", json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_demo_call_plays_every_state(tmp_path):
    data_dir = tmp_path / "demo"
    code, password, _admin_password = prepare_demo(data_dir, port=8443, contacts=20)
    configured = load_telephony_settings(data_dir)
    assert configured.provider == "simulated"
    inst = open_installation(data_dir)
    # the demo's own settings, made certain to answer so the test sees every state
    always = TelephonySettings(provider="simulated", simulated=SimulatedSettings(answer_rate=1.0, busy_rate=0.0))
    try:
        app = create_app(inst.settings, engine=inst.engine, keys=inst.keys, telephony=Telephony(always, inst.engine))
        with TestClient(app, base_url="https://testserver") as client:
            agent = Recorder(client, _login(client, code, password))
            record = agent.post("/next").json()["record"]
            assert record["after_answer_fields"] >= 0 and record["timezone"] == "Europe/Warsaw"
            placed = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": uuid.uuid4().hex})
            assert placed.status_code == 200, placed.text
            seen = agent.wait_call(placed.json()["call_id"], until="answered")
            assert seen[-1]["state"] == "answered"
            states = [placed.json()["state"], *(v["state"] for v in seen)]
            assert [s for s in WANTED if s in states] == ["dialing", "agent_ringing", "customer_ringing", "answered"]
            ended = agent.post(f"/calls/{placed.json()['call_id']}/hangup")
            assert ended.status_code == 200
            final = agent.wait_call(placed.json()["call_id"])[-1]
            assert final["result"] == "completed" and final["ring_s"] >= 2
    finally:
        inst.close()


def test_demo_settings_play_busy_and_no_answer_too():
    from owner_server.telephony.provider import CallSpec
    from owner_server.telephony.simulated import SimulatedProvider

    results = []
    fast = SimulatedSettings(agent_ring_s=0, customer_ring_min_s=0, customer_ring_max_s=0, seed=7)
    provider = SimulatedProvider(fast)
    provider.start(lambda update: results.append(update.result) if update.result else None)
    try:
        for n in range(40):
            spec = CallSpec(f"c{n}", "PJSIP/1", "Demo", "", 20, 30, number=lambda: "+48500000001")
            provider.originate(spec)
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len([r for r in results if r.value != "completed"]) < 5:
            time.sleep(0.05)
    finally:
        provider.stop()
    assert {r.value for r in results} >= {"busy", "no_answer"}
