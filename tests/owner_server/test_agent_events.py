"""Focus changes and blocked actions reported by the client: stored, audited, validated."""

import json

import pytest
from sqlmodel import Session, select

from owner_server.models import AuditEntry, DisplayEventRow
from owner_server.models._common import utcnow

from .helpers import seed
from .test_agent_api import API, logged_in


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


def test_events_beyond_the_per_lease_cap_are_refused_whole(client, setup, installation):
    from shared.limits import LIMITS

    headers, lease_id = _leased(client, setup)
    cap = LIMITS.max_events_per_lease
    first = [_event(lease_id, f"c{i}", "action_blocked", i, detail="copy") for i in range(cap - 1)]
    assert client.post(f"{API}/events", headers=headers, json={"events": first[:150]}).status_code == 200
    over = [_event(lease_id, "x1", "focus_lost", cap), _event(lease_id, "x2", "focus_regained", cap + 1)]
    r = client.post(f"{API}/events", headers=headers, json={"events": over})
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    with Session(installation.engine) as s:
        assert len(s.exec(select(DisplayEventRow)).all()) == cap - 1


def test_events_after_the_lease_closed_are_refused(client, setup, installation):
    from datetime import timedelta

    headers, lease_id = _leased(client, setup)
    assert (
        client.post(f"{API}/dispositions", headers=headers, json={"lease_id": lease_id, "code": "sale"}).status_code
        == 200
    )
    late = _event(lease_id, "late", "action_blocked", 9, detail="copy")
    late["occurred_at"] = (utcnow() + timedelta(seconds=10)).isoformat()  # within skew: allowed
    assert client.post(f"{API}/events", headers=headers, json={"events": [late]}).status_code == 200
    from owner_server.models import Lease

    with Session(installation.engine) as s:  # the lease ran from two hours to one hour ago
        lease = s.get(Lease, lease_id)
        lease.issued_at, lease.closed_at = utcnow() - timedelta(hours=2), utcnow() - timedelta(hours=1)
        s.add(lease)
        s.commit()
    during = {**late, "event_id": "during", "occurred_at": (utcnow() - timedelta(minutes=90)).isoformat()}
    after = {**late, "event_id": "after", "occurred_at": (utcnow() - timedelta(minutes=30)).isoformat()}
    assert client.post(f"{API}/events", headers=headers, json={"events": [during]}).status_code == 200
    assert client.post(f"{API}/events", headers=headers, json={"events": [after]}).status_code == 400


def test_a_lost_race_on_a_unique_constraint_is_a_clean_conflict(client, setup, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    from owner_server.work import outcomes as work

    headers, lease_id = _leased(client, setup)

    def racing(*_args, **_kwargs):
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    monkeypatch.setattr(work, "record_events", racing)
    r = client.post(f"{API}/events", headers=headers, json={"events": [_event(lease_id, "r1", "record_displayed", 0)]})
    assert r.status_code == 409 and r.json() == {
        "code": "conflict",
        "message": "the request conflicted with a concurrent one; retry it",
    }
