"""The agent API in process (FastAPI TestClient over the real app and a real SQLite file).

One negative test per security rule; the end-to-end test over TLS with the
real client lives in tests/e2e.
"""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from owner_server.models import AccessToken, AuditEntry, Contact, ContactState, Disposition
from owner_server.models._common import utcnow
from shared.limits import LIMITS

from .helpers import CONTACTS, PASSWORD, DeviceKey, seed

API = "/api/v1/agent"


@pytest.fixture
def setup(installation):
    return seed(installation, agents=("agent1", "agent2"))


def enrol(client, code, device=None):
    device = device or DeviceKey()
    r = client.post(
        f"{API}/enrol", json={"enrolment_code": code, "device_public_key": device.public_b64, "device_name": "pc"}
    )
    return r, device


def login(client, login_name, device, device_id, password=PASSWORD, tamper=False):
    nonce = client.post(f"{API}/nonce", json={"device_id": device_id}).json()["nonce"]
    sig = device.sign(login_name, device_id, nonce)
    if tamper:
        sig = device.sign(login_name, device_id, nonce + "x")
    body = {"login": login_name, "password": password, "device_id": device_id, "nonce": nonce, "signature": sig}
    return client.post(f"{API}/login", json=body), body


def logged_in(client, setup, name="agent1"):
    r, device = enrol(client, setup[name].enrolment_code)
    assert r.status_code == 200, r.text
    device_id = r.json()["device_id"]
    r, _ = login(client, name, device, device_id)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_full_agent_flow(client, setup, installation):
    headers = logged_in(client, setup)
    first = client.post(f"{API}/next", headers=headers, json={}).json()["record"]
    again = client.post(f"{API}/next", headers=headers, json={}).json()["record"]
    assert first["lease_id"] == again["lease_id"]
    names = {f["name"] for f in first["fields"]}
    assert names == {"first_name", "last_name", "city"}
    r = client.post(f"{API}/dispositions", headers=headers, json={"lease_id": first["lease_id"], "code": "sale"})
    assert r.status_code == 200, r.text
    # the closed record never comes back, and disposing twice fails
    r = client.post(f"{API}/dispositions", headers=headers, json={"lease_id": first["lease_id"], "code": "sale"})
    assert r.status_code == 409 and r.json()["code"] == "no_lease"
    refs = {first["contact_ref"]}
    for _ in range(len(CONTACTS) - 1):
        rec = client.post(f"{API}/next", headers=headers, json={}).json()["record"]
        assert rec["contact_ref"] not in refs
        refs.add(rec["contact_ref"])
        client.post(f"{API}/dispositions", headers=headers, json={"lease_id": rec["lease_id"], "code": "no_answer"})
    empty = client.post(f"{API}/next", headers=headers, json={}).json()
    assert empty["record"] is None and empty["retry_after_s"] > 0
    with Session(installation.engine) as s:
        actions = [e.action for e in s.exec(select(AuditEntry)).all()]
    assert actions.count("record_issued") == len(CONTACTS)
    assert actions.count("record_reissued") == 0  # the same session asking again is not a new display


def test_two_agents_never_share_a_record(client, setup):
    h1, h2 = logged_in(client, setup, "agent1"), logged_in(client, setup, "agent2")
    r1 = client.post(f"{API}/next", headers=h1, json={}).json()["record"]
    r2 = client.post(f"{API}/next", headers=h2, json={}).json()["record"]
    assert r1["contact_ref"] != r2["contact_ref"]
    # agent2 cannot close agent1's lease
    r = client.post(f"{API}/dispositions", headers=h2, json={"lease_id": r1["lease_id"], "code": "sale"})
    assert r.status_code == 409


def test_enrolment_code_works_once(client, setup):
    assert enrol(client, setup["agent1"].enrolment_code)[0].status_code == 200
    r, _ = enrol(client, setup["agent1"].enrolment_code)
    assert r.status_code == 401 and r.json()["code"] == "enrolment_invalid"


def test_password_without_enrolled_device_fails(client, setup):
    r, _ = enrol(client, setup["agent1"].enrolment_code)
    device_id = r.json()["device_id"]
    stranger = DeviceKey()  # right password, wrong key
    r, _ = login(client, "agent1", stranger, device_id)
    assert r.status_code == 401


def test_tampered_signature_fails(client, setup):
    r, device = enrol(client, setup["agent1"].enrolment_code)
    r, _ = login(client, "agent1", device, r.json()["device_id"], tamper=True)
    assert r.status_code == 401


def test_wrong_password_fails_with_same_message(client, setup):
    r, device = enrol(client, setup["agent1"].enrolment_code)
    bad, _ = login(client, "agent1", device, r.json()["device_id"], password="wrong password!!")
    unknown, _ = login(client, "nobody", device, r.json()["device_id"])
    assert bad.status_code == unknown.status_code == 401
    assert bad.json() == unknown.json()


def test_replayed_nonce_fails(client, setup):
    r, device = enrol(client, setup["agent1"].enrolment_code)
    ok, body = login(client, "agent1", device, r.json()["device_id"])
    assert ok.status_code == 200
    assert client.post(f"{API}/login", json=body).status_code == 401


def test_expired_token_fails(client, setup, installation):
    headers = logged_in(client, setup)
    with Session(installation.engine) as s:
        for row in s.exec(select(AccessToken)).all():
            row.expires_at = utcnow() - timedelta(seconds=1)
            s.add(row)
        s.commit()
    r = client.post(f"{API}/next", headers=headers, json={})
    assert r.status_code == 401 and r.json()["code"] == "token_expired"


def test_no_token_and_garbage_token_fail(client, setup):
    assert client.post(f"{API}/next", json={}).status_code == 401
    assert client.post(f"{API}/next", headers={"Authorization": "Bearer nope"}, json={}).status_code == 401


def test_oversized_body_is_refused(client, setup):
    big = {"enrolment_code": "x" * (LIMITS.max_body_bytes + 10), "device_public_key": "AA==", "device_name": "pc"}
    r = client.post(f"{API}/enrol", json=big)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


def test_unknown_fields_are_refused_and_not_echoed(client, setup):
    r = client.post(f"{API}/login", json={"login": "a", "password": "s3cret-value", "extra": 1})
    assert r.status_code == 400
    assert "s3cret-value" not in r.text


def test_hidden_field_cannot_be_requested(client, setup):
    headers = logged_in(client, setup)
    r = client.post(f"{API}/next", headers=headers, json={"fields": ["pesel", "phone"]})
    body = r.text
    assert "pesel" not in body.lower() or r.status_code == 400
    for values in CONTACTS:
        assert values["pesel"] not in body and values["phone"][3:] not in body


def test_no_search_list_or_export_endpoints(client, setup):
    headers = logged_in(client, setup)
    for path in ("contacts", "search", "export", "records", "leads"):
        assert client.get(f"{API}/{path}", headers=headers).status_code == 404


def test_events_are_idempotent_and_scoped(client, setup):
    h1, h2 = logged_in(client, setup, "agent1"), logged_in(client, setup, "agent2")
    rec = client.post(f"{API}/next", headers=h1, json={}).json()["record"]
    event = {
        "event_id": "e1",
        "kind": "record_displayed",
        "lease_id": rec["lease_id"],
        "occurred_at": utcnow().isoformat(),
        "session_seq": 0,
    }
    r = client.post(f"{API}/events", headers=h1, json={"events": [event]})
    assert r.json() == {"accepted": 1, "duplicates": 0}
    r = client.post(f"{API}/events", headers=h1, json={"events": [event]})
    assert r.json() == {"accepted": 0, "duplicates": 1}
    # another agent may not report on this lease
    r = client.post(f"{API}/events", headers=h2, json={"events": [{**event, "event_id": "e2"}]})
    assert r.status_code == 400
    # naive timestamps are refused
    r = client.post(
        f"{API}/events",
        headers=h1,
        json={"events": [{**event, "event_id": "e3", "occurred_at": "2026-01-01T00:00:00"}]},
    )
    assert r.status_code == 400


def _expire_leases(installation):
    from owner_server.models import Lease

    with Session(installation.engine) as s:
        for lease in s.exec(select(Lease)).all():
            lease.expires_at = utcnow() - timedelta(seconds=1)
            s.add(lease)
        s.commit()


def test_expired_lease_is_closed_and_never_comes_back_to_that_agent(client, setup, installation):
    h1, h2 = logged_in(client, setup, "agent1"), logged_in(client, setup, "agent2")
    first = client.post(f"{API}/next", headers=h1, json={}).json()["record"]
    _expire_leases(installation)
    again = client.post(f"{API}/next", headers=h1, json={}).json()["record"]
    assert again["contact_ref"] != first["contact_ref"]
    # the record went back to the pool: another agent can work it
    other = client.post(f"{API}/next", headers=h2, json={}).json()["record"]
    assert other["contact_ref"] == first["contact_ref"]
    # the first agent's outcome arriving late is kept (200) but no longer moves the contact agent2 holds
    r = client.post(f"{API}/dispositions", headers=h1, json={"lease_id": first["lease_id"], "code": "sale"})
    assert r.status_code == 200
    with Session(installation.engine) as s:
        assert "lease_expired" in [e.action for e in s.exec(select(AuditEntry)).all()]
        late = s.exec(select(Disposition).where(Disposition.lease_id == first["lease_id"])).one()
        assert late.late and s.get(Contact, late.contact_id).state is ContactState.LEASED


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "2020-01-01T00:00:00+00:00"]
)
def test_event_times_outside_the_lease_are_refused(client, setup, when):
    headers = logged_in(client, setup)
    rec = client.post(f"{API}/next", headers=headers, json={}).json()["record"]
    event = {
        "event_id": "t1",
        "kind": "record_displayed",
        "lease_id": rec["lease_id"],
        "occurred_at": when,
        "session_seq": 0,
    }
    r = client.post(f"{API}/events", headers=headers, json={"events": [event]})
    assert r.status_code == 400 and r.json()["code"] == "bad_request"
