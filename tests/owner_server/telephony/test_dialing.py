"""Dial refusals and the after_answer reveal: the real app, the simulated telephony, SQLite and PostgreSQL."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from owner_server.api.app import create_app
from owner_server.models import AuditEntry, Call, Contact, Lease, Suppression
from owner_server.telephony.runtime import Telephony
from owner_server.telephony.settings import SimulatedSettings, TelephonySettings

from .call_support import CONTACTS, Recorder, logged_in, setup_agent

ALWAYS = TelephonySettings(
    provider="simulated",
    simulated=SimulatedSettings(
        agent_ring_s=0.1, customer_ring_min_s=0.2, customer_ring_max_s=0.3, answer_rate=1.0, busy_rate=0
    ),
)


def _client(inst):
    app = create_app(inst.settings, engine=inst.engine, keys=inst.keys, telephony=Telephony(ALWAYS, inst.engine))
    return TestClient(app, base_url="https://testserver")


def _phone_of(inst, lease_id):
    with Session(inst.engine) as session:
        contact = session.get(Contact, session.get(Lease, lease_id).contact_id)
        values = inst.keys.cipher_for(session, data_key_id=contact.data_key_id).decrypt_fields(
            contact.ref, contact.payload
        )
        return values["phone"], contact.phone_bidx


def test_dnc_at_dial_time_is_refused_and_nothing_is_placed(any_installation):
    setup = setup_agent(any_installation)
    with _client(any_installation) as client:
        agent = Recorder(client, logged_in(client, setup))
        record = agent.post("/next").json()["record"]
        _phone, bidx = _phone_of(any_installation, record["lease_id"])
        with Session(any_installation.engine) as session:
            session.add(Suppression(phone_bidx=bidx))
            session.commit()
        r = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": "r1"})
        assert r.status_code == 409 and r.json()["code"] == "do_not_call"
        agent.assert_no_number()
    with Session(any_installation.engine) as session:
        assert session.exec(select(Call)).all() == []


def test_only_the_agents_open_lease_is_dialled(any_installation):
    setup = setup_agent(any_installation)
    with _client(any_installation) as client:
        one, two = Recorder(client, logged_in(client, setup)), Recorder(client, logged_in(client, setup, "agent2"))
        theirs = two.post("/next").json()["record"]
        r = one.post("/calls", {"lease_id": theirs["lease_id"], "request_id": "r1"})
        assert r.status_code == 409 and r.json()["code"] == "no_lease"


def test_after_answer_fields_only_while_answered_and_revealed_once(any_installation):
    setup = setup_agent(any_installation)
    with _client(any_installation) as client:
        agent = Recorder(client, logged_in(client, setup))
        record = agent.post("/next").json()["record"]
        city = next(c["city"] for c in CONTACTS if c["first_name"] == record["fields"][0]["value"])
        assert city not in json.dumps(record, ensure_ascii=False)
        placed = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": "r1"}).json()
        assert placed["fields"] == []
        seen = agent.wait_call(placed["call_id"], until="answered")
        assert all(v["fields"] == [] for v in seen[:-1]) and seen[-1]["state"] == "answered"
        assert seen[-1]["fields"] == [{"name": "city", "label": "City", "value": city, "masked": False}]
        agent.get(f"/calls/{placed['call_id']}")  # polled again: no second audit entry
        agent.post(f"/calls/{placed['call_id']}/hangup")
        final = agent.wait_call(placed["call_id"])[-1]
        assert final["fields"] == [] and final["result"] == "completed"
        agent.assert_no_number()
    with Session(any_installation.engine) as session:
        reveals = session.exec(select(AuditEntry).where(AuditEntry.action == "fields_revealed")).all()
    assert len(reveals) == 1
    assert json.loads(reveals[0].details) == {"call_id": placed["call_id"], "lease_id": record["lease_id"], "fields": 1}
    assert city not in reveals[0].details


def test_after_answer_fields_end_with_the_lease_even_while_the_call_is_up(any_installation):
    """Red-team finding: an answered call kept returning the fields after the outcome closed its lease."""
    setup = setup_agent(any_installation)
    with _client(any_installation) as client:
        agent = Recorder(client, logged_in(client, setup))
        record = agent.post("/next").json()["record"]
        placed = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": "r1"}).json()
        assert agent.wait_call(placed["call_id"], until="answered")[-1]["fields"]
        closed = agent.post(
            "/dispositions", {"lease_id": record["lease_id"], "code": "sale", "call_id": placed["call_id"]}
        )
        assert closed.status_code == 200, closed.text
        after = agent.get(f"/calls/{placed['call_id']}").json()
        assert after["state"] == "answered" and after["fields"] == []
        agent.post(f"/calls/{placed['call_id']}/hangup")
        agent.assert_no_number()


def test_lookup_shows_the_call_with_its_agent_and_result(any_installation):
    from owner_server.audit.lookup import LookupKind, lookup

    setup = setup_agent(any_installation)
    with _client(any_installation) as client:
        agent = Recorder(client, logged_in(client, setup))
        record = agent.post("/next").json()["record"]
        placed = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": "r1"}).json()
        agent.wait_call(placed["call_id"], until="answered")
        agent.post(f"/calls/{placed['call_id']}/hangup")
        agent.wait_call(placed["call_id"])
    with Session(any_installation.engine) as session:
        contact_id = session.get(Lease, record["lease_id"]).contact_id
        result = lookup(session, contact_ids=[contact_id], by=LookupKind.CONTACT, actor="admin:test")
    events = {e.action: e for e in result.contacts[0].events}
    assert events["call_placed"].agent == "agent1" and events["call_ended"].agent == "agent1"
    assert events["call_ended"].details["result"] == "completed"
    assert events["call_ended"].details["call_id"] == placed["call_id"]


def test_a_lost_call_does_not_block_the_agent_forever(any_installation):
    from datetime import timedelta

    from owner_server.models._common import utcnow

    setup = setup_agent(any_installation)
    with _client(any_installation) as client:
        agent = Recorder(client, logged_in(client, setup))
        record = agent.post("/next").json()["record"]
        with Session(any_installation.engine) as session:  # a call whose end the telephony never reported
            lease = session.get(Lease, record["lease_id"])
            lost = Call(
                lease_id=lease.id,
                contact_id=lease.contact_id,
                user_id=lease.user_id,
                campaign_id=lease.campaign_id,
                request_id="lost",
                provider="simulated",
                state="agent_ringing",
                created_at=utcnow() - timedelta(hours=1),
            )
            session.add(lost)
            session.commit()
            lost_id = lost.id
        r = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": "r2"})
        assert r.status_code == 200, r.text
        assert agent.get(f"/calls/{lost_id}").json()["result"] == "failed"
        agent.post(f"/calls/{r.json()['call_id']}/hangup")
        assert agent.wait_call(r.json()["call_id"])[-1]["state"] == "ended"
