"""Regressions for weaknesses found by the red-team pass (raw HTTP against the agent API)."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from owner_server.api.app import create_app
from owner_server.models import AuditEntry, DisplayEventRow

from .helpers import PASSWORD, DeviceKey, seed

API = "/api/v1/agent"


@pytest.fixture
def client(installation):
    app = create_app(installation.settings, engine=installation.engine, keys=installation.keys)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def setup(installation):
    return seed(installation, agents=("agent1",))


def _enrolled(client, setup):
    device = DeviceKey()
    r = client.post(
        f"{API}/enrol",
        json={
            "enrolment_code": setup["agent1"].enrolment_code,
            "device_public_key": device.public_b64,
            "device_name": "pc",
        },
    )
    assert r.status_code == 200, r.text
    return device, r.json()["device_id"]


def test_malformed_signature_with_right_password_is_the_same_audited_401(client, setup, installation):
    """A stolen password must not be confirmable without the device key (no 400-vs-401 oracle)."""
    _, device_id = _enrolled(client, setup)
    answers = {}
    for password in (PASSWORD, "wrong password"):
        nonce = client.post(f"{API}/nonce", json={"device_id": device_id}).json()["nonce"]
        body = {"login": "agent1", "password": password, "device_id": device_id, "nonce": nonce, "signature": "AAAA"}
        r = client.post(f"{API}/login", json=body)
        answers[password] = (r.status_code, r.json())
    assert answers[PASSWORD] == answers["wrong password"]
    assert answers[PASSWORD][0] == 401
    with Session(installation.engine) as session:
        failed = session.exec(select(AuditEntry).where(AuditEntry.action == "login_failed")).all()
    assert len(failed) == 2


@pytest.mark.parametrize("field", ["session_seq", "duration_ms"])
def test_out_of_range_event_numbers_are_a_400_not_a_500(client, setup, installation, field):
    device, device_id = _enrolled(client, setup)
    nonce = client.post(f"{API}/nonce", json={"device_id": device_id}).json()["nonce"]
    body = {
        "login": "agent1",
        "password": PASSWORD,
        "device_id": device_id,
        "nonce": nonce,
        "signature": device.sign("agent1", device_id, nonce),
    }
    headers = {"Authorization": f"Bearer {client.post(f'{API}/login', json=body).json()['access_token']}"}
    lease_id = client.post(f"{API}/next", headers=headers).json()["record"]["lease_id"]
    event = {
        "event_id": "e1",
        "kind": "record_hidden",
        "lease_id": lease_id,
        "occurred_at": "2026-01-01T00:00:00Z",
        "session_seq": 1,
        "duration_ms": 1,
    }
    event[field] = 2**63
    r = client.post(f"{API}/events", headers=headers, json={"events": [event]})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "bad_request"
    with Session(installation.engine) as session:
        assert session.exec(select(DisplayEventRow)).all() == []
