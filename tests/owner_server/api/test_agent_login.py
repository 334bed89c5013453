"""Login hardening over the real app (TestClient with a chosen client address), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from owner_server.api.app import create_app
from owner_server.core.db import session_scope
from owner_server.identity import agents, outsourcers
from owner_server.models import AccessToken, Alert, AuditEntry, User

from ..helpers import PASSWORD, DeviceKey, seed

API = "/api/v1/agent"
INSIDE, OUTSIDE = "10.20.0.7", "198.51.100.9"


@pytest.fixture
def inst(any_installation):
    seed(any_installation, agents=("agent1",))
    return any_installation


@pytest.fixture
def connect(inst):
    app = create_app(inst.settings, engine=inst.engine, keys=inst.keys)
    clients: list[TestClient] = []

    def make(address: str = INSIDE) -> TestClient:
        client = TestClient(app, base_url="https://testserver", client=(address, 50000))
        clients.append(client.__enter__())
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def device(inst, connect):
    code = _code(inst)
    key = DeviceKey()
    r = connect().post(
        f"{API}/enrol", json={"enrolment_code": code, "device_public_key": key.public_b64, "device_name": "pc"}
    )
    assert r.status_code == 200, r.text
    return key, r.json()["device_id"]


def _code(inst) -> str:
    with session_scope(inst.engine) as s:
        return agents.revoke_devices(s, login="agent1", actor="test")  # a fresh code we can read


def _login(client: TestClient, device, *, password: str = PASSWORD, login: str = "agent1"):
    key, device_id = device
    nonce = client.post(f"{API}/nonce", json={"device_id": device_id}).json()["nonce"]
    body = {
        "login": login,
        "password": password,
        "device_id": device_id,
        "nonce": nonce,
        "signature": key.sign(login, device_id, nonce),
    }
    return client.post(f"{API}/login", json=body)


def test_login_stores_and_audits_the_client_address(inst, connect, device):
    r = _login(connect("192.0.2.10"), device)
    assert r.status_code == 200, r.text
    with Session(inst.engine) as s:
        row = s.exec(select(AccessToken).where(AccessToken.session_id == r.json()["session_id"])).one()
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "login")).one()
    assert row.address == "192.0.2.10" and json.loads(entry.details)["address"] == "192.0.2.10"


def test_outside_the_site_networks_login_and_token_are_refused(inst, connect, device):
    with session_scope(inst.engine) as s:
        outsourcers.set_networks(s, name="BPO", cidrs=["10.20.0.0/16"], clear=False, actor="test")
    inside, outside = connect(INSIDE), connect(OUTSIDE)
    ok = _login(inside, device)
    assert ok.status_code == 200, ok.text
    for _ in range(3):
        r = _login(outside, device)
        assert r.status_code == 403 and r.json()["code"] == "address_not_allowed"
    headers = {"Authorization": f"Bearer {ok.json()['access_token']}"}
    assert inside.post(f"{API}/next", headers=headers, json={}).status_code == 200
    r = outside.post(f"{API}/next", headers=headers, json={})
    assert r.status_code == 403 and r.json()["code"] == "address_not_allowed"
    with Session(inst.engine) as s:
        rules = [a.rule for a in s.exec(select(Alert)).all()]
    assert rules.count("outside_network") == 1


def test_lockout_over_http(inst, connect, device):
    client = connect()
    for _ in range(5):
        r = _login(client, device, password="wrong password!!")
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    locked = _login(client, device)
    assert locked.status_code == 403 and locked.json()["code"] == "account_locked"
    with Session(inst.engine) as s:
        until = s.exec(select(User).where(User.login == "agent1")).one().locked_until
    assert datetime.fromisoformat(locked.json()["retry_at"]) == until
    # without the device, right password or wrong: the same answer as an unknown login
    stranger = (DeviceKey(), device[1])
    wrong = _login(client, stranger)
    unknown = _login(client, device, login="nobody")
    assert wrong.status_code == unknown.status_code == 401 and wrong.json() == unknown.json()


def test_suspension_stops_the_token_at_once(inst, connect, device):
    client = connect()
    headers = {"Authorization": f"Bearer {_login(client, device).json()['access_token']}"}
    assert client.post(f"{API}/next", headers=headers, json={}).json()["record"] is not None
    with session_scope(inst.engine) as s:
        agents.suspend(s, login="agent1", reason="review", actor="test")
    stopped = client.post(f"{API}/next", headers=headers, json={})
    assert stopped.status_code == 403 and stopped.json()["code"] == "account_suspended"  # revoked, and told why
    r = _login(client, device)
    assert r.status_code == 403 and r.json()["code"] == "account_suspended"
