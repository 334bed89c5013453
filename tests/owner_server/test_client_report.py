"""The client's reports about itself (settings, refused capture exclusion): audited, capped per agent and hour."""

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from owner_server.api.app import create_app
from owner_server.identity.client_report import MAX_REPORTS_PER_HOUR, SUPPRESSED_ACTION
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
        {"kind": "capture_exclusion_refused", "window": "573370142.Kaczmarkiewicz.Gdynia"},  # free text
        {"kind": "capture_exclusion_refused", "window": "SomethingElse"},  # the client sends "other" for it
        {"kind": "client_settings", "screen_reader_mode": "yes"},  # strictly boolean
        {"kind": "client_settings", "screen_reader_mode": 1},
        {"kind": "client_settings", "screen_reader_mode": False, "update_check": "false"},
        {"kind": "client_settings", "screen_reader_mode": False, "idle_lock_minutes": 0},
        {"kind": "client_settings", "screen_reader_mode": False, "idle_lock_minutes": "10"},
        {"kind": "capture_exclusion_refused", "window": "QMenu", "provisioned": True},  # a setting on a refusal
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


@pytest.mark.parametrize("skew", [timedelta(days=1, minutes=1), -timedelta(days=1, minutes=1), timedelta(days=400)])
def test_a_report_far_from_the_server_time_is_refused(client, setup, installation, skew):
    headers = logged_in(client, setup)
    body = {"kind": "client_settings", "occurred_at": (utcnow() + skew).isoformat(), "screen_reader_mode": False}
    r = client.post(f"{API}/client-report", headers=headers, json=body)
    assert r.status_code == 400, r.text
    assert _audited(installation) == []


def test_the_weakening_settings_are_audited(client, setup, installation):
    headers = logged_in(client, setup)
    body = {
        "kind": "client_settings",
        "occurred_at": utcnow().isoformat(),
        "screen_reader_mode": False,
        "idle_lock_minutes": 120,
        "update_check": False,
        "provisioned": False,
    }
    assert client.post(f"{API}/client-report", headers=headers, json=body).json() == {"audited": True}
    [(_, _, _, _, details)] = _audited(installation)
    assert (details["idle_lock_minutes"], details["update_check"], details["provisioned"]) == (120, False, False)


def test_unknown_windows_arrive_as_other_and_only_enum_names_are_stored(client, setup, installation):
    headers = logged_in(client, setup)
    for window in ("other", "RecordWindow", "QMenu"):
        body = {"kind": "capture_exclusion_refused", "occurred_at": utcnow().isoformat(), "window": window}
        assert client.post(f"{API}/client-report", headers=headers, json=body).status_code == 200
    assert [details["window"] for *_, details in _audited(installation)] == ["other", "RecordWindow", "QMenu"]


def _suppressed(installation):
    with Session(installation.engine) as s:
        return s.exec(select(AuditEntry).where(AuditEntry.action == SUPPRESSED_ACTION)).all()


def test_a_flood_of_reports_stops_at_the_cap(client, setup, installation):
    headers = logged_in(client, setup)
    body = {"kind": "capture_exclusion_refused", "occurred_at": utcnow().isoformat(), "window": "QMessageBox"}
    answers = [client.post(f"{API}/client-report", headers=headers, json=body).json()["audited"] for _ in range(35)]
    assert answers == [True] * MAX_REPORTS_PER_HOUR + [False] * (35 - MAX_REPORTS_PER_HOUR)
    assert len(_audited(installation)) == MAX_REPORTS_PER_HOUR
    assert len(_suppressed(installation)) == 1  # once an hour, not once per dropped report


def test_logging_in_again_does_not_reset_the_cap_and_other_agents_are_unaffected(any_installation):
    """On SQLite and PostgreSQL: the cap counts the agent's entries of the last hour, whatever the session."""
    installation = any_installation
    setup = seed(installation, agents=("agent1", "agent2"))
    app = create_app(installation.settings, engine=installation.engine, keys=installation.keys)
    with TestClient(app, base_url="https://testserver") as client:
        _three_sessions_and_another_agent(client, installation, setup)


def _three_sessions_and_another_agent(client, installation, setup):
    r, device = enrol(client, setup["agent1"].enrolment_code)
    device_id = r.json()["device_id"]
    body = {"kind": "capture_exclusion_refused", "occurred_at": utcnow().isoformat(), "window": "QDialog"}
    answers = []
    for _ in range(3):  # three sessions of the same agent, each trying the whole cap
        token = login(client, "agent1", device, device_id)[0].json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        answers += [
            client.post(f"{API}/client-report", headers=headers, json=body).json()["audited"]
            for _ in range(MAX_REPORTS_PER_HOUR // 2 + 1)
        ]
    assert answers.count(True) == MAX_REPORTS_PER_HOUR
    assert answers == sorted(answers, reverse=True)
    other = logged_in(client, setup, "agent2")
    assert client.post(f"{API}/client-report", headers=other, json=body).json() == {"audited": True}
    per_actor = {}
    for _, actor, *_ in _audited(installation):
        per_actor[actor] = per_actor.get(actor, 0) + 1
    assert sorted(per_actor.values()) == [1, MAX_REPORTS_PER_HOUR]


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
