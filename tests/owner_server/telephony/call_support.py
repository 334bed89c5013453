"""Shared set-up of the call tests: a campaign with an after_answer field, an agent with a phone, the ARI double."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from owner_server.api.app import create_app
from owner_server.core.db import session_scope
from owner_server.identity import phones
from owner_server.models import Campaign
from shared.policy import CampaignPolicy
from tests.owner_server.helpers import CONTACTS, PASSWORD, POLICY, DeviceKey, seed
from tests.support.leaks import phone_pattern

API = "/api/v1/agent"
ALL_DAY = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "23:59"}]
CALL_POLICY = CampaignPolicy.model_validate(
    {
        **POLICY.model_dump(mode="json", exclude={"strategy", "calls", "fields"}),
        "fields": {"first_name": "visible", "last_name": {"mode": "masked"}, "city": "after_answer", "pesel": "hidden"},
        "strategy": {"windows": ALL_DAY},
        "calls": {"caller_id": "+48221234567", "display_name": "Jesien Offer", "ring_timeout_s": 5},
    }
)
ARI_USER, ARI_PASSWORD = "custos", "ari-secret"


def setup_agent(inst, *, endpoint: str | None = "PJSIP/1001") -> dict:
    """One campaign (CALL_POLICY), the test contacts, agent1 with a phone endpoint."""
    setup = seed(inst, agents=("agent1", "agent2"))
    with Session(inst.engine) as session:
        camp = session.exec(select(Campaign).where(Campaign.name == "Camp")).one()
        camp.policy_json = CALL_POLICY.model_dump_json()
        session.add(camp)
        session.commit()
    if endpoint is not None:
        with session_scope(inst.engine) as session:
            for login in ("agent1", "agent2"):
                phones.set_phone(session, login=login, endpoint=endpoint, actor="test")
    return setup


def write_telephony(inst, text: str) -> None:
    (inst.settings.data_dir / "telephony.toml").write_text(text, encoding="utf-8")


def ari_toml(port: int, *, password: str = ARI_PASSWORD) -> str:
    return (
        'provider = "ari"\nagent_ring_timeout_s = 10\n[ari]\n'
        f'url = "http://127.0.0.1:{port}"\nuser = "{ARI_USER}"\npassword = "{password}"\n'
        'app = "custos"\ntrunk_endpoint = "PJSIP/{number}@owner-trunk"\nrequest_timeout_s = 1.5\n'
    )


@contextlib.contextmanager
def app_client(inst) -> Iterator[TestClient]:
    app = create_app(inst.settings, engine=inst.engine, keys=inst.keys)
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def logged_in(client, setup, name: str = "agent1") -> dict[str, str]:
    device = DeviceKey()
    r = client.post(
        f"{API}/enrol",
        json={
            "enrolment_code": setup[name].enrolment_code,
            "device_public_key": device.public_b64,
            "device_name": "pc",
        },
    )
    assert r.status_code == 200, r.text
    device_id = r.json()["device_id"]
    nonce = client.post(f"{API}/nonce", json={"device_id": device_id}).json()["nonce"]
    body = {
        "login": name,
        "password": PASSWORD,
        "device_id": device_id,
        "nonce": nonce,
        "signature": device.sign(name, device_id, nonce),
    }
    r = client.post(f"{API}/login", json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


class Recorder:
    """Keeps every raw body the agent API returned, for the leak check."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers, self.bodies = client, headers, []

    def post(self, path: str, body: dict | None = None):
        r = self.client.post(f"{API}{path}", headers=self.headers, json=body or {})
        self.bodies.append(r.text)
        return r

    def get(self, path: str):
        r = self.client.get(f"{API}{path}", headers=self.headers)
        self.bodies.append(r.text)
        return r

    def wait_call(self, call_id: str, *, until: str = "ended", timeout_s: float = 15.0) -> list[dict]:
        """Poll the call every 0.1 s until it reaches ``until``; returns every view seen."""
        seen, deadline = [], time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            r = self.get(f"/calls/{call_id}")
            assert r.status_code == 200, r.text
            seen.append(r.json())
            if seen[-1]["state"] == until or seen[-1]["state"] == "ended":
                return seen
            time.sleep(0.1)
        raise AssertionError(f"call did not reach {until}: {seen[-1]}")

    def assert_no_number(self) -> None:
        blob = "\n".join(self.bodies)
        for contact in CONTACTS:
            assert not phone_pattern(contact["phone"]).search(blob), "a phone number reached the agent"
