"""Session refresh over the real app: rotation, reuse, expiry, suspension, new login, networks (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select, update

from owner_server.api.app import create_app
from owner_server.core.db import session_scope
from owner_server.core.session_settings import SessionSettings
from owner_server.identity import agents, outsourcers
from owner_server.identity.sessions import token_hash
from owner_server.models import AccessToken, AgentSession, AuditEntry, RefreshToken
from owner_server.models._common import utcnow
from shared.auth import refresh_challenge
from shared.protocol import b64encode

from ..helpers import PASSWORD, DeviceKey, seed

API = "/api/v1/agent"
INSIDE, OUTSIDE = "10.20.0.7", "198.51.100.9"


@pytest.fixture
def inst(any_installation):
    seed(any_installation, agents=("agent1",))
    return any_installation


@pytest.fixture
def connect(inst):
    settings = inst.settings.model_copy(update={"sessions": SessionSettings(access_token_ttl_s=30, max_session_s=3600)})
    app = create_app(settings, engine=inst.engine, keys=inst.keys)
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
    with session_scope(inst.engine) as s:
        code = agents.revoke_devices(s, login="agent1", actor="test")
    key = DeviceKey()
    r = connect().post(
        f"{API}/enrol", json={"enrolment_code": code, "device_public_key": key.public_b64, "device_name": "pc"}
    )
    assert r.status_code == 200, r.text
    return key, r.json()["device_id"]


def login(client: TestClient, device) -> dict:
    key, device_id = device
    nonce = client.post(f"{API}/nonce", json={"device_id": device_id}).json()["nonce"]
    body = {
        "login": "agent1",
        "password": PASSWORD,
        "device_id": device_id,
        "nonce": nonce,
        "signature": key.sign("agent1", device_id, nonce),
    }
    r = client.post(f"{API}/login", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def refresh(client: TestClient, device, session_id: str, token: str, *, key: DeviceKey | None = None, nonce=None):
    signer, device_id = device
    nonce = nonce or client.post(f"{API}/nonce", json={"device_id": device_id}).json()["nonce"]
    message = refresh_challenge(
        session_id=session_id, device_id=device_id, nonce=nonce, refresh_token_sha256=token_hash(token)
    )
    signature = b64encode((key or signer).key.sign(message))
    body = {"refresh_token": token, "device_id": device_id, "nonce": nonce, "signature": signature}
    return client.post(f"{API}/refresh", json=body)


def next_status(client: TestClient, access: str) -> tuple[int, str]:
    r = client.post(f"{API}/next", headers={"Authorization": f"Bearer {access}"}, json={})
    return r.status_code, r.json().get("code", "")


def expire_access_tokens(inst) -> None:
    with session_scope(inst.engine) as s:
        s.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))


def refusals(inst) -> list[str]:
    with Session(inst.engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.action == "refresh_refused").order_by(col(AuditEntry.seq)))
        return [json.loads(e.details)["reason"] for e in rows]


def test_login_hands_out_a_refresh_token_and_short_access_token(connect, device):
    first = login(connect(), device)
    assert first["expires_in_s"] == 30
    assert first["session_expires_in_s"] == 3600
    assert first["refresh_token"] and first["refresh_token"] != first["access_token"]


def test_an_expired_token_is_refreshed_within_the_same_session(inst, connect, device):
    client = connect()
    first = login(client, device)
    expire_access_tokens(inst)  # the shift outlived the token
    assert next_status(client, first["access_token"]) == (401, "token_expired")
    r = refresh(client, device, first["session_id"], first["refresh_token"])
    assert r.status_code == 200, r.text
    renewed = r.json()
    assert renewed["session_id"] == first["session_id"]
    assert renewed["refresh_token"] != first["refresh_token"] and renewed["access_token"] != first["access_token"]
    assert next_status(client, renewed["access_token"])[0] == 200
    with Session(inst.engine) as s:
        stored = s.exec(select(RefreshToken)).all()
        assert all(row.token_hash not in (first["refresh_token"], renewed["refresh_token"]) for row in stored)
        assert {row.session_id for row in stored} == {first["session_id"]}
        audited = s.exec(select(AuditEntry).where(AuditEntry.action == "session_refreshed")).one()
    assert audited.object_id == first["session_id"]
    assert first["refresh_token"] not in audited.details and renewed["access_token"] not in audited.details


def test_a_reused_refresh_token_ends_the_session(inst, connect, device):
    client = connect()
    first = login(client, device)
    second = refresh(client, device, first["session_id"], first["refresh_token"]).json()
    renewed = refresh(client, device, first["session_id"], second["refresh_token"]).json()  # the successor was used
    replay = refresh(client, device, first["session_id"], first["refresh_token"])
    assert replay.status_code == 401 and replay.json()["code"] == "unauthorized"
    assert next_status(client, renewed["access_token"]) == (401, "unauthorized")  # the live token is revoked too
    assert refresh(client, device, first["session_id"], renewed["refresh_token"]).status_code == 401
    with Session(inst.engine) as s:
        row = s.get(AgentSession, first["session_id"])
    assert row.end_reason == "refresh_reused" and row.ended_at is not None
    assert refusals(inst)[0] == "refresh_reused"


def test_refresh_needs_the_device_key_and_a_fresh_nonce(inst, connect, device):
    client = connect()
    first = login(client, device)
    stranger = refresh(client, device, first["session_id"], first["refresh_token"], key=DeviceKey())
    assert stranger.status_code == 401 and stranger.json()["code"] == "bad_signature"
    nonce = client.post(f"{API}/nonce", json={"device_id": device[1]}).json()["nonce"]
    ok = refresh(client, device, first["session_id"], first["refresh_token"], nonce=nonce)
    assert ok.status_code == 200
    replayed = refresh(client, device, first["session_id"], ok.json()["refresh_token"], nonce=nonce)
    assert replayed.status_code == 401 and replayed.json()["code"] == "bad_signature"
    # a login signature is no refresh signature (domain separation)
    key, device_id = device
    nonce = client.post(f"{API}/nonce", json={"device_id": device_id}).json()["nonce"]
    body = {
        "refresh_token": ok.json()["refresh_token"],
        "device_id": device_id,
        "nonce": nonce,
        "signature": key.sign("agent1", device_id, nonce),
    }
    assert client.post(f"{API}/refresh", json=body).json()["code"] == "bad_signature"
    assert refusals(inst) == ["device_proof", "device_proof", "device_proof"]
    # failed proofs do not end the session: the right device still refreshes
    assert refresh(client, device, first["session_id"], ok.json()["refresh_token"]).status_code == 200


def test_no_refresh_after_suspension_even_once_reinstated(inst, connect, device):
    client = connect()
    first = login(client, device)
    with session_scope(inst.engine) as s:
        agents.suspend(s, login="agent1", reason="review", actor="test")
    r = refresh(client, device, first["session_id"], first["refresh_token"])
    assert r.status_code == 403 and r.json()["code"] == "account_suspended"
    with session_scope(inst.engine) as s:
        agents.reinstate(s, login="agent1", actor="test")
    again = refresh(client, device, first["session_id"], first["refresh_token"])
    assert again.status_code == 401
    assert refusals(inst) == ["suspended", "suspended"]


def test_a_new_login_ends_the_earlier_session(inst, connect, device):
    client = connect()
    first = login(client, device)
    second = login(client, device)
    assert second["session_id"] != first["session_id"]
    r = refresh(client, device, first["session_id"], first["refresh_token"])
    assert r.status_code == 401
    with Session(inst.engine) as s:
        assert s.get(AgentSession, first["session_id"]).end_reason == "new_login"
    assert refresh(client, device, second["session_id"], second["refresh_token"]).status_code == 200


def test_no_refresh_past_the_maximum_session_length(inst, connect, device):
    client = connect()
    first = login(client, device)
    with session_scope(inst.engine) as s:
        s.execute(update(AgentSession).values(ends_at=utcnow() - timedelta(seconds=1)))
    r = refresh(client, device, first["session_id"], first["refresh_token"])
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert refusals(inst) == ["max_length"]


def test_a_revoked_device_cannot_refresh(inst, connect, device):
    client = connect()
    first = login(client, device)
    with session_scope(inst.engine) as s:
        agents.revoke_devices(s, login="agent1", actor="test")
    r = refresh(client, device, first["session_id"], first["refresh_token"])
    assert r.status_code == 401


def test_refresh_from_outside_the_site_networks_is_refused(inst, connect, device):
    with session_scope(inst.engine) as s:
        outsourcers.set_networks(s, name="BPO", cidrs=["10.20.0.0/16"], clear=False, actor="test")
    first = login(connect(INSIDE), device)
    r = refresh(connect(OUTSIDE), device, first["session_id"], first["refresh_token"])
    assert r.status_code == 403 and r.json()["code"] == "address_not_allowed"
    assert refresh(connect(INSIDE), device, first["session_id"], first["refresh_token"]).status_code == 200


def test_an_unknown_refresh_token_is_refused(connect, device):
    client = connect()
    first = login(client, device)
    r = refresh(client, device, first["session_id"], "x" * 43)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_refresh_tokens_of_sessions_long_over_are_purged(inst, connect, device):
    from owner_server.identity.login import purge_expired_nonces

    client = connect()
    old = login(client, device)
    refresh(client, device, old["session_id"], old["refresh_token"])
    current = login(client, device)  # ends the first session
    with session_scope(inst.engine) as s:
        purge_expired_nonces(s, now=utcnow() + timedelta(hours=24, minutes=30))
    with Session(inst.engine) as s:
        left = {row.session_id for row in s.exec(select(RefreshToken)).all()}
        assert s.get(AgentSession, old["session_id"]) is not None  # the session itself stays
    assert left == {current["session_id"]}


def test_a_retry_whose_answer_was_lost_rotates_again_and_retires_the_unanswered_pair(inst, connect, device):
    client = connect()
    first = login(client, device)
    lost = refresh(client, device, first["session_id"], first["refresh_token"]).json()  # the client never hears
    retry = refresh(client, device, first["session_id"], first["refresh_token"])
    assert retry.status_code == 200, retry.text
    renewed = retry.json()
    assert renewed["session_id"] == first["session_id"]
    assert next_status(client, renewed["access_token"])[0] == 200
    assert next_status(client, lost["access_token"]) == (401, "unauthorized")  # the unanswered pair is retired
    with Session(inst.engine) as s:
        assert s.get(AgentSession, first["session_id"]).ended_at is None
        entries = s.exec(select(AuditEntry).where(AuditEntry.action == "session_refreshed")).all()
    assert [json.loads(e.details)["retry"] for e in entries] == [False, True]
    # whoever presents the retired successor later is not the client: the session ends
    assert refresh(client, device, first["session_id"], lost["refresh_token"]).status_code == 401
    assert next_status(client, renewed["access_token"]) == (401, "unauthorized")


def test_a_used_token_after_the_grace_is_a_reuse(inst, connect, device):
    client = connect()
    first = login(client, device)
    refresh(client, device, first["session_id"], first["refresh_token"])
    with session_scope(inst.engine) as s:
        s.execute(update(RefreshToken).values(used_at=utcnow() - timedelta(minutes=5)))
    assert refresh(client, device, first["session_id"], first["refresh_token"]).status_code == 401
    assert refusals(inst) == ["refresh_reused"]


def test_a_refresh_retires_the_access_token_it_replaced(inst, connect, device, monkeypatch):
    """Red-team finding: the replaced access token kept working until its own end (here: no grace at all)."""
    from owner_server.identity import sessions

    monkeypatch.setattr(sessions, "PREVIOUS_ACCESS_GRACE_S", 0)
    client = connect()
    first = login(client, device)
    assert next_status(client, first["access_token"])[0] == 200
    r = refresh(client, device, first["session_id"], first["refresh_token"])
    assert r.status_code == 200, r.text
    assert next_status(client, first["access_token"]) == (401, "token_expired")
    assert next_status(client, r.json()["access_token"])[0] == 200
