"""Focus changes and blocked actions reported by the client: stored, audited, validated."""

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from owner_server.api.app import create_app
from owner_server.models import AuditEntry, DisplayEventRow
from owner_server.models._common import utcnow

from .helpers import seed
from .test_agent_api import API, logged_in


@pytest.fixture
def client(installation):
    app = create_app(installation.settings, engine=installation.engine, keys=installation.keys)
    with TestClient(app, base_url="https://testserver") as c:
        yield c


@pytest.fixture
def setup(installation):
    return seed(installation, agents=("agent1",))


def _leased(client, setup):
    headers = logged_in(client, setup)
    lease_id = client.post(f"{API}/next", headers=headers, json={}).json()["record"]["lease_id"]
    return headers, lease_id


def _event(lease_id, event_id, kind, seq, **extra):
    return {
        "event_id": event_id,
        "kind": kind,
        "lease_id": lease_id,
        "occurred_at": utcnow().isoformat(),
        "session_seq": seq,
        **extra,
    }


def test_focus_changes_and_blocked_actions_are_stored_and_audited(client, setup, installation):
    headers, lease_id = _leased(client, setup)
    events = [
        _event(lease_id, "d1", "record_displayed", 0),
        _event(lease_id, "f1", "focus_lost", 1),
        _event(lease_id, "f2", "focus_regained", 2),
        _event(lease_id, "b1", "action_blocked", 3, detail="copy"),
        _event(lease_id, "b2", "action_blocked", 4, detail="capture"),
    ]
    r = client.post(f"{API}/events", headers=headers, json={"events": events})
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 5, "duplicates": 0}
    with Session(installation.engine) as s:
        rows = {row.event_id: (row.kind, row.detail) for row in s.exec(select(DisplayEventRow)).all()}
        entries = s.exec(select(AuditEntry).where(AuditEntry.object_type == "contact")).all()
        audited = [(e.action, json.loads(e.details)) for e in entries if e.action != "record_issued"]
    assert rows == {
        "d1": ("record_displayed", None),
        "f1": ("focus_lost", None),
        "f2": ("focus_regained", None),
        "b1": ("action_blocked", "copy"),
        "b2": ("action_blocked", "capture"),
    }
    assert [(action, details["event_id"], details.get("detail")) for action, details in audited] == [
        ("record_displayed", "d1", None),
        ("focus_lost", "f1", None),
        ("focus_regained", "f2", None),
        ("action_blocked", "b1", "copy"),
        ("action_blocked", "b2", "capture"),
    ]
    assert all(details["lease_id"] == lease_id for _, details in audited)
    assert "detail" not in audited[0][1]  # older kinds are audited exactly as before


def test_a_repeated_blocked_action_is_stored_once(client, setup, installation):
    headers, lease_id = _leased(client, setup)
    event = _event(lease_id, "b1", "action_blocked", 0, detail="print")
    assert client.post(f"{API}/events", headers=headers, json={"events": [event]}).json() == {
        "accepted": 1,
        "duplicates": 0,
    }
    assert client.post(f"{API}/events", headers=headers, json={"events": [event]}).json() == {
        "accepted": 0,
        "duplicates": 1,
    }
    with Session(installation.engine) as s:
        assert len(s.exec(select(AuditEntry).where(AuditEntry.action == "action_blocked")).all()) == 1


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("action_blocked", {}),
        ("action_blocked", {"detail": None}),
        ("action_blocked", {"detail": "paste"}),
        ("action_blocked", {"detail": "COPY"}),
        ("action_blocked", {"detail": ""}),
        ("record_displayed", {"detail": "copy"}),
        ("record_hidden", {"detail": "copy", "duration_ms": 5}),
        ("focus_lost", {"detail": "copy"}),
        ("focus_regained", {"detail": "select_all"}),
        ("window_minimised", {}),
    ],
)
def test_detail_must_match_the_kind(client, setup, installation, kind, extra):
    headers, lease_id = _leased(client, setup)
    good = _event(lease_id, "ok1", "record_displayed", 0)
    bad = _event(lease_id, "bad1", kind, 1, **extra)
    r = client.post(f"{API}/events", headers=headers, json={"events": [good, bad]})
    assert r.status_code == 400 and r.json()["code"] == "bad_request"
    with Session(installation.engine) as s:  # the whole batch is refused
        assert s.exec(select(DisplayEventRow)).all() == []
