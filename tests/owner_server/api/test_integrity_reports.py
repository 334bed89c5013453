"""``POST /api/v1/agent/integrity-reports`` over the real app: verified, audited once, replay and forgery refused."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from owner_server.api.app import create_app
from owner_server.core.db import session_scope
from owner_server.identity import agents
from owner_server.identity.integrity import ACTION, REPORTS_PER_HOUR
from owner_server.models import Alert, AuditEntry
from shared.integrity import IntegrityReason, integrity_challenge
from shared.protocol import b64encode

from ..helpers import DeviceKey, seed

API = "/api/v1/agent"


@pytest.fixture
def inst(any_installation):
    seed(any_installation, agents=("agent1",))
    return any_installation


@pytest.fixture
def client(inst):
    app = create_app(inst.settings, engine=inst.engine, keys=inst.keys)
    with TestClient(app, base_url="https://testserver", client=("10.20.0.7", 50000)) as c:
        yield c


@pytest.fixture
def device(inst, client):
    with session_scope(inst.engine) as s:
        code = agents.revoke_devices(s, login="agent1", actor="test")
    key = DeviceKey()
    r = client.post(
        f"{API}/enrol", json={"enrolment_code": code, "device_public_key": key.public_b64, "device_name": "pc"}
    )
    assert r.status_code == 200, r.text
    return key, r.json()["device_id"]


def _report(
    client,
    device,
    *,
    reason=IntegrityReason.DEBUGGER_ATTACHED,
    signed_reason=None,
    nonce=None,
    key=None,
    version="0.1.0",
):
    own_key, device_id = device
    nonce = nonce or client.post(f"{API}/nonce", json={"device_id": device_id}).json()["nonce"]
    message = integrity_challenge(
        device_id=device_id, nonce=nonce, reason=signed_reason or reason, client_version=version
    )
    body = {
        "device_id": device_id,
        "nonce": nonce,
        "reason": reason.value,
        "client_version": version,
        "signature": b64encode((key or own_key).key.sign(message)),
    }
    return client.post(f"{API}/integrity-reports", json=body), body


def _entries(inst):
    with Session(inst.engine) as s:
        return [json.loads(e.details) for e in s.exec(select(AuditEntry).where(AuditEntry.action == ACTION))]


def _alerts(inst):
    with Session(inst.engine) as s:
        return s.exec(select(Alert).where(Alert.rule == "client_integrity")).all()


def test_a_signed_report_is_audited_with_device_login_and_reason_and_alerted(inst, client, device):
    r, _ = _report(client, device, reason=IntegrityReason.QT_PLUGIN_OVERRIDE)
    assert r.status_code == 204 and r.content == b""
    [entry] = _entries(inst)
    assert entry["device_id"] == device[1] and entry["login"] == "agent1"
    assert entry["reason"] == "qt_plugin_override" and entry["address"] == "10.20.0.7"
    assert len(_alerts(inst)) == 1
    _report(client, device)
    assert len(_entries(inst)) == 2 and len(_alerts(inst)) == 1  # one alert an hour per agent


def test_a_replayed_nonce_is_refused_and_not_audited_again(inst, client, device):
    r, body = _report(client, device)
    assert r.status_code == 204
    again = client.post(f"{API}/integrity-reports", json=body)
    assert again.status_code == 401 and again.json()["code"] == "unauthorized"
    assert len(_entries(inst)) == 1


@pytest.mark.parametrize("forgery", ["other_key", "other_reason"])
def test_a_bad_signature_is_refused_and_nothing_is_audited(inst, client, device, forgery):
    if forgery == "other_key":
        r, _ = _report(client, device, key=DeviceKey())
    else:  # signed for one reason, sent with another
        sent, signed = IntegrityReason.CODE_INJECTION, IntegrityReason.PYTHON_TRACER
        r, _ = _report(client, device, reason=sent, signed_reason=signed)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert _entries(inst) == [] and _alerts(inst) == []


def test_an_unknown_device_gets_the_same_refusal(inst, client, device):
    key, _ = device
    r, _ = _report(client, (key, "no-such-device"))
    assert r.status_code == 401 and r.json()["code"] == "unauthorized" and _entries(inst) == []


def test_reports_are_rate_limited_per_device(inst, client, device):
    for _ in range(REPORTS_PER_HOUR):
        assert _report(client, device)[0].status_code == 204
    r, _ = _report(client, device)
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert len(_entries(inst)) == REPORTS_PER_HOUR


@pytest.mark.parametrize("version", ["0.1.0", "12.3", "1.2.3-rc.1", "1.2.3+build.7"])
def test_release_versions_are_accepted(inst, client, device, version):
    r, _ = _report(client, device, version=version)
    assert r.status_code == 204, r.text
    assert [entry["client_version"] for entry in _entries(inst)] == [version]


@pytest.mark.parametrize(
    "version",
    [
        "573370142.Kaczmarkiewicz",  # free text after the digits
        "Kaczmarkiewicz",
        "1.2.3-Gdynia",  # upper case in the suffix
        "1.2.3-abcdefghijklmnopq",  # suffix longer than 16
        "1.2.3.4.5",
        "",
        "1..2",
        "1.2 3",
    ],
)
def test_a_version_that_is_not_a_release_version_is_refused_and_not_audited(inst, client, device, version):
    r, _ = _report(client, device, version=version)
    assert r.status_code == 400, r.text
    assert _entries(inst) == [] and _alerts(inst) == []
