"""Calls through the real app against the ARI double (a separate HTTP + WebSocket process), on SQLite and PostgreSQL.

Each scenario ends in its CallResult; the double's request log shows the
customer's number only in the trunk leg's originate request; nothing the
agent API returned holds a digit sequence of any number.
"""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, select

from owner_server.models import AuditEntry, Call
from tests.support.ari_process import ari_double, free_port, read_log

from .call_support import (
    CONTACTS,
    Recorder,
    app_client,
    ari_toml,
    logged_in,
    phone_pattern,
    setup_agent,
    write_telephony,
)

pytestmark = pytest.mark.e2e


def _dial(agent: Recorder) -> tuple[dict, dict]:
    record = agent.post("/next").json()["record"]
    r = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": uuid.uuid4().hex})
    assert r.status_code == 200, r.text
    return record, r.json()


def _number_requests(log: list[dict]) -> list[dict]:
    found = []
    for entry in log:
        text = str(entry)
        if any(phone_pattern(c["phone"]).search(text) for c in CONTACTS):
            found.append(entry)
    return found


def _assert_number_only_in_trunk_leg(log: list[dict], *, trunk_leg: bool) -> None:
    with_number = _number_requests(log)
    if not trunk_leg:
        assert with_number == []
        return
    assert len(with_number) == 1, with_number
    only = with_number[0]
    assert only["method"] == "POST" and only["path"] == "/ari/channels"
    assert only["body"]["endpoint"].endswith("@owner-trunk") and only["body"]["appArgs"].startswith("customer,")
    assert only["query"] == {}  # the number is never in a URL
    assert not any(phone_pattern(c["phone"]).search(only["body"].get("callerId", "")) for c in CONTACTS)
    agent_leg = next(e for e in log if e["path"] == "/ari/channels" and e["body"]["appArgs"].startswith("agent,"))
    assert agent_leg["body"]["endpoint"] == "PJSIP/1001"
    assert agent_leg["body"]["callerId"] == '"Jesien Offer" <>'  # the agent's phone shows the campaign, no number


@pytest.mark.parametrize(
    ("scenario", "result", "answered", "trunk_leg"),
    [
        ("answered", "completed", True, True),
        ("busy", "busy", False, True),
        ("no_answer", "no_answer", False, True),
        ("customer_hangs_up", "completed", True, True),
        ("agent_hangs_up", "completed", True, True),
        ("agent_no_answer", "agent_no_answer", False, False),
        ("agent_offline", "agent_unavailable", False, False),
    ],
)
def test_scenario_ends_in_its_result(any_installation, tmp_path, scenario, result, answered, trunk_leg):
    inst = any_installation
    setup = setup_agent(inst)
    with ari_double(tmp_path, scenario) as (port, log_path):
        write_telephony(inst, ari_toml(port))
        with app_client(inst) as client:
            agent = Recorder(client, logged_in(client, setup))
            record, placed = _dial(agent)
            assert placed["state"] in ("dialing", "agent_ringing", "customer_ringing")
            assert record["after_answer_fields"] == 1 and "city" not in {f["name"] for f in record["fields"]}
            seen = agent.wait_call(placed["call_id"], until="answered")
            if answered:
                assert seen[-1]["state"] in ("answered", "ended")
                if seen[-1]["state"] == "answered":
                    assert [f["name"] for f in seen[-1]["fields"]] == ["city"]
                if scenario == "answered":
                    assert seen[-1]["state"] == "answered"
                    r = agent.post(f"/calls/{placed['call_id']}/hangup")
                    assert r.status_code == 200, r.text
                seen += agent.wait_call(placed["call_id"])
            final = seen[-1]
            assert final["state"] == "ended" and final["result"] == result, final
            assert final["fields"] == []  # withdrawn when the call ends
            if answered:
                assert final["answered_at"] is not None
            agent.assert_no_number()
    _assert_number_only_in_trunk_leg(read_log(log_path), trunk_leg=trunk_leg)
    with Session(inst.engine) as session:
        call = session.get(Call, placed["call_id"])
        assert call.result == result and call.ended_at is not None
        actions = [e for e in session.exec(select(AuditEntry)).all() if e.action.startswith(("call_", "fields_"))]
    assert [e.action for e in actions if e.action != "fields_revealed"] == ["call_placed", "call_ended"]
    assert sum(e.action == "fields_revealed" for e in actions) == (1 if answered else 0)
    for entry in actions:
        assert not any(phone_pattern(c["phone"]).search(entry.details) for c in CONTACTS)


def test_hangup_while_customer_rings_cancels(installation, tmp_path):
    setup = setup_agent(installation)
    with ari_double(tmp_path, "no_answer") as (port, _log):
        write_telephony(installation, ari_toml(port))
        with app_client(installation) as client:
            agent = Recorder(client, logged_in(client, setup))
            _record, placed = _dial(agent)
            agent.wait_call(placed["call_id"], until="customer_ringing")
            r = agent.post(f"/calls/{placed['call_id']}/hangup")
            assert r.status_code == 200
            assert agent.wait_call(placed["call_id"])[-1]["result"] == "cancelled"


def test_retried_request_places_no_second_call_and_one_call_at_a_time(installation, tmp_path):
    setup = setup_agent(installation)
    with ari_double(tmp_path, "answered") as (port, log_path):
        write_telephony(installation, ari_toml(port))
        with app_client(installation) as client:
            agent = Recorder(client, logged_in(client, setup))
            record = agent.post("/next").json()["record"]
            body = {"lease_id": record["lease_id"], "request_id": "req-1"}
            first, again = agent.post("/calls", body).json(), agent.post("/calls", body).json()
            assert first["call_id"] == again["call_id"]
            r = agent.post("/calls", {**body, "request_id": "req-2"})
            assert r.status_code == 409 and r.json()["code"] == "call_in_progress"
            other = Recorder(client, logged_in(client, setup, "agent2"))
            assert other.get(f"/calls/{first['call_id']}").json()["code"] == "not_found"
            assert other.post(f"/calls/{first['call_id']}/hangup").status_code == 404
            agent.post(f"/calls/{first['call_id']}/hangup")
            agent.wait_call(first["call_id"])
    agent_legs = [e for e in read_log(log_path) if e["path"] == "/ari/channels" and "agent," in str(e["body"])]
    assert len(agent_legs) == 1


def test_ari_down_is_telephony_unavailable(installation):
    setup = setup_agent(installation)
    port = free_port()  # nothing listens
    write_telephony(installation, ari_toml(port))
    with app_client(installation) as client:
        agent = Recorder(client, logged_in(client, setup))
        record = agent.post("/next").json()["record"]
        r = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": "r1"})
        assert r.status_code == 503 and r.json()["code"] == "telephony_unavailable"
        assert "127.0.0.1" not in r.text and "ari-secret" not in r.text and str(port) not in r.text
        agent.assert_no_number()
    with Session(installation.engine) as session:
        assert session.exec(select(Call)).one().result == "failed"


def test_bad_credentials_are_telephony_unavailable(installation, tmp_path):
    setup = setup_agent(installation)
    with ari_double(tmp_path, "answered") as (port, log_path):
        write_telephony(installation, ari_toml(port, password="wrong-password"))
        with app_client(installation) as client:
            agent = Recorder(client, logged_in(client, setup))
            record = agent.post("/next").json()["record"]
            r = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": "r1"})
            assert r.status_code == 503 and r.json()["code"] == "telephony_unavailable"
            assert "credentials" in r.json()["message"] and "wrong-password" not in r.text
    assert not any(e["path"] == "/ari/channels" for e in read_log(log_path))  # nothing dialled


@pytest.mark.parametrize("scenario", ["agent_unregistered", "agent_unknown"])
def test_agent_phone_refused_is_agent_phone_unavailable(installation, tmp_path, scenario):
    setup = setup_agent(installation)
    with ari_double(tmp_path, scenario) as (port, log_path):
        write_telephony(installation, ari_toml(port))
        with app_client(installation) as client:
            agent = Recorder(client, logged_in(client, setup))
            record = agent.post("/next").json()["record"]
            r = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": "r1"})
            assert r.status_code == 409 and r.json()["code"] == "agent_phone_unavailable"
            agent.assert_no_number()
    _assert_number_only_in_trunk_leg(read_log(log_path), trunk_leg=False)
    with Session(installation.engine) as session:
        assert session.exec(select(Call)).one().result == "agent_unavailable"


def test_agent_without_phone_and_no_telephony(installation, tmp_path):
    setup = setup_agent(installation, endpoint=None)
    with app_client(installation) as client:  # no telephony.toml: provider none
        headers = logged_in(client, setup)
        agent = Recorder(client, headers)
        record = agent.post("/next").json()["record"]
        r = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": "r1"})
        assert r.status_code == 503 and r.json()["code"] == "telephony_unavailable"
    with ari_double(tmp_path, "answered") as (port, _log):
        write_telephony(installation, ari_toml(port))
        with app_client(installation) as client:
            agent = Recorder(client, headers)
            r = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": "r2"})
            assert r.status_code == 409 and r.json()["code"] == "agent_phone_unavailable"


def test_hangup_when_ari_went_away_ends_the_call_here(installation, tmp_path):
    setup = setup_agent(installation)
    double = ari_double(tmp_path, "answered")
    port, _log = double.__enter__()
    write_telephony(installation, ari_toml(port))
    with app_client(installation) as client:
        agent = Recorder(client, logged_in(client, setup))
        try:
            _record, placed = _dial(agent)
            assert agent.wait_call(placed["call_id"], until="answered")[-1]["state"] == "answered"
        finally:
            double.__exit__(None, None, None)  # the PBX goes away mid-call
        r = agent.post(f"/calls/{placed['call_id']}/hangup")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "ended" and r.json()["result"] == "completed" and r.json()["fields"] == []
        r = agent.post("/calls", {"lease_id": placed["lease_id"], "request_id": "again"})
        assert r.status_code == 503 and r.json()["code"] == "telephony_unavailable"
