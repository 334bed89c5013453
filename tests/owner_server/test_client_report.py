"""The client's reports about itself (screen-reader setting, refused capture exclusion): audited per session."""

import json

import pytest
from sqlmodel import Session, select

from owner_server.identity.client_report import MAX_REPORTS_PER_SESSION
from owner_server.models import AuditEntry
from owner_server.models._common import utcnow

from .helpers import seed
from .test_agent_api import API, enrol, logged_in, login


@pytest.fixture
def setup(installation):
    return seed(installation, agents=("agent1",))


def _audited(installation):
    with Session(installation.engine) as s:
        entries = s.exec(
            select(AuditEntry)
            .where(AuditEntry.action.in_(("client_settings", "capture_exclusion_refused")))
            .order_by(AuditEntry.seq)
        ).all()
        return [(e.action, e.actor, e.object_type, e.object_id, json.loads(e.details)) for e in entries]


def test_settings_and_a_refused_exclusion_are_audited_under_the_session(client, setup, installation):
    headers = logged_in(client, setup)
    now = utcnow().isoformat()
    settings = {"kind": "client_settings", "occurred_at": now, "screen_reader_mode": True}
    refusal = {"kind": "capture_exclusion_refused", "occurred_at": now, "window": "CallbackDialog"}
    for body in (settings, refusal):
        r = client.post(f"{API}/client-report", headers=headers, json=body)
        assert r.status_code == 200, r.text
        assert r.json() == {"audited": True}
    audited = _audited(installation)
    assert [(action, details.get("screen_reader_mode"), details.get("window")) for action, *_, details in audited] == [
        ("client_settings", True, None),
        ("capture_exclusion_refused", None, "CallbackDialog"),
    ]
    assert {kind for _, _, kind, _, _ in audited} == {"session"}
    assert all(actor.startswith("agent:") for _, actor, *_ in audited)
    assert len({object_id for *_, object_id, _ in audited}) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "client_settings"},  # no setting
        {"kind": "client_settings", "screen_reader_mode": True, "window": "X"},
        {"kind": "capture_exclusion_refused"},
        {"kind": "capture_exclusion_refused", "window": "bad name with spaces"},
        {"kind": "client_settings", "screen_reader_mode": True, "extra": 1},
    ],
)
def test_malformed_reports_are_refused_and_change_nothing(client, setup, installation, body):
    headers = logged_in(client, setup)
    r = client.post(f"{API}/client-report", headers=headers, json={"occurred_at": utcnow().isoformat(), **body})
    assert r.status_code == 400, r.text
    assert _audited(installation) == []


def test_a_report_needs_a_session(client, setup, installation):
    body = {"kind": "client_settings", "occurred_at": utcnow().isoformat(), "screen_reader_mode": False}
    assert client.post(f"{API}/client-report", json=body).status_code == 401
    assert _audited(installation) == []


def test_a_flood_of_reports_stops_at_the_cap(client, setup, installation):
    headers = logged_in(client, setup)
    body = {"kind": "capture_exclusion_refused", "occurred_at": utcnow().isoformat(), "window": "QMessageBox"}
    answers = [client.post(f"{API}/client-report", headers=headers, json=body).json()["audited"] for _ in range(35)]
    assert answers == [True] * MAX_REPORTS_PER_SESSION + [False] * (35 - MAX_REPORTS_PER_SESSION)
    assert len(_audited(installation)) == MAX_REPORTS_PER_SESSION


def test_after_an_idle_lock_the_new_session_gets_the_still_open_lease_back(client, setup):
    """The client's idle lock drops the tokens and logs in again: the agent's open lease is what /next returns."""
    r, device = enrol(client, setup["agent1"].enrolment_code)
    device_id = r.json()["device_id"]
    first = login(client, "agent1", device, device_id)[0].json()
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    lease_id = client.post(f"{API}/next", headers=headers, json={}).json()["record"]["lease_id"]
    second = login(client, "agent1", device, device_id)[0].json()
    assert second["session_id"] != first["session_id"]
    headers = {"Authorization": f"Bearer {second['access_token']}"}
    assert client.post(f"{API}/next", headers=headers, json={}).json()["record"]["lease_id"] == lease_id
