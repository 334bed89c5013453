"""Lookup: real histories made through the agent API, traced by phone, customer id and ref, on both databases."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, col, select

from owner_server.audit.lookup import LookupKind, lookup
from owner_server.core.db import session_scope
from owner_server.lists.erasure import erase_by_phone
from owner_server.lists.matching import match_contacts
from owner_server.models import AuditEntry
from shared.errors import NotFoundError, ValidationError

from ..helpers import seed
from .histories import CONTACTS_WITH_IDS, build


@pytest.fixture
def history(any_installation):
    return build(any_installation)


def _lookup(inst, **by):
    match = match_contacts(inst.engine, inst.keys, **by)
    with session_scope(inst.engine) as session:
        return lookup(session, contact_ids=match.contact_ids, by=match.by, actor="admin:test")


def _rows(contact):
    return [(e.action, e.agent, e.outsourcer, e.device, e.address) for e in contact.events]


def test_a_phone_gives_the_whole_timeline_with_who_and_where(any_installation, history):
    a1 = history.agents["agent1"]
    national = history.phones["A"].removeprefix("+48")
    result = _lookup(any_installation, phone=f"{national[:3]} {national[3:6]}-{national[6:]}")  # as a person writes it
    [contact] = result.contacts
    assert (contact.contact_ref, contact.campaign) == (history.refs["A"], "Camp")
    who = ("agent1", "BPO", a1.device_id, a1.address)
    assert _rows(contact) == [
        ("record_issued", *who),  # asked for again in the same session: not a new entry
        ("record_displayed", *who),
        ("action_blocked", *who),
        ("record_hidden", *who),
        ("disposition_recorded", *who),
    ]
    times = [e.at for e in contact.events]
    assert times == sorted(times)
    hidden = contact.events[3]
    assert hidden.details["duration_ms"] == 4200 and hidden.details["lease_id"] == history.leases["A1"]
    assert contact.events[2].details["detail"] == "copy"
    assert contact.events[4].details["code"] == "sale"
    assert contact.events[0].details["device_name"] == "pc"
    assert [e.details.get("session_seq") for e in contact.events[1:4]] == [0, 1, 2]
    assert [e["seq"] for e in result.as_json()["contacts"][0]["events"]] == [e.seq for e in contact.events]


def test_a_record_that_changed_hands_names_both_agents(any_installation, history):
    a1, a2 = history.agents["agent1"], history.agents["agent2"]
    [contact] = _lookup(any_installation, phone=history.phones["B"]).contacts
    assert _rows(contact) == [
        ("record_issued", "agent2", "BPO", a2.device_id, a2.address),
        ("lease_expired", "agent2", "BPO", a2.device_id, a2.address),
        ("record_issued", "agent1", "BPO", a1.device_id, a1.address),
        ("disposition_recorded", "agent1", "BPO", a1.device_id, a1.address),
    ]
    assert contact.events[1].details["lease_id"] == history.leases["B2"]


def test_a_canary_trap_number_names_every_agent_who_saw_it(any_installation, history):
    [contact] = _lookup(any_installation, phone=history.phones["C"]).contacts
    assert contact.contact_ref == history.refs["C"]
    assert {e.agent for e in contact.events} == {"agent2"}
    assert [e.action for e in contact.events] == ["record_issued"]


def test_customer_id_and_contact_ref_find_the_same_history(any_installation, history):
    index = next(i for i, c in enumerate(CONTACTS_WITH_IDS) if c["phone"] == history.phones["B"])
    by_id = _lookup(any_installation, customer_id=f"  {CONTACTS_WITH_IDS[index]['customer_id']} ")
    by_ref = _lookup(any_installation, contact_ref=history.refs["B"].upper())
    by_phone = _lookup(any_installation, phone=history.phones["B"], campaign="Camp")
    assert by_id.as_json() == by_ref.as_json() == by_phone.as_json()
    assert (by_id.by, by_ref.by) == (LookupKind.CUSTOMER_ID, LookupKind.CONTACT)


def test_json_shape(any_installation, history):
    data = _lookup(any_installation, phone=history.phones["A"]).as_json()
    assert list(data) == ["contacts"]
    [contact] = data["contacts"]
    assert list(contact) == ["contact_ref", "campaign", "events"]
    assert list(contact["events"][0])[:6] == ["at", "action", "agent", "outsourcer", "device", "address"]
    json.dumps(data)  # serialisable as is


def test_no_match_is_an_empty_answer_and_still_audited(any_installation, history):
    assert _lookup(any_installation, phone="+48 501 999 999").contacts == ()
    assert _lookup(any_installation, contact_ref="0" * 32).contacts == ()
    with Session(any_installation.engine) as s:
        last = s.exec(select(AuditEntry).order_by(col(AuditEntry.seq).desc())).first()
    assert last.action == "lookup" and json.loads(last.details)["matched"] == 0


def test_the_lookup_is_audited_without_the_phone_or_customer_id(any_installation, history):
    _lookup(any_installation, phone=history.phones["A"])
    _lookup(any_installation, customer_id="C-2")
    with Session(any_installation.engine) as s:
        entries = s.exec(select(AuditEntry).where(AuditEntry.action == "lookup").order_by(col(AuditEntry.seq))).all()
    assert [e.actor for e in entries] == ["admin:test", "admin:test"]
    first, second = (json.loads(e.details) for e in entries)
    assert first["by"] == "phone" and first["matched"] == 1 and first["contacts"] == history.refs["A"]
    assert second["by"] == "customer_id" and second["matched"] == 1
    digits = history.phones["A"].removeprefix("+")
    for entry in entries:
        text = entry.model_dump_json()
        assert digits not in text and digits[2:] not in text and "C-2" not in text


def test_erased_contact_leaves_its_phone_unmatched_but_its_ref_traceable(any_installation, history):
    erase_by_phone(any_installation.engine, any_installation.keys, phone=history.phones["A"], actor="admin:test")
    assert _lookup(any_installation, phone=history.phones["A"]).contacts == ()
    [contact] = _lookup(any_installation, contact_ref=history.refs["A"]).contacts
    assert contact.events[-1].action == "contact_erased" and contact.events[-1].agent is None
    assert contact.events[-1].actor == "admin:test"


@pytest.mark.parametrize(
    ("by", "error"),
    [
        ({"phone": "12"}, ValidationError),
        ({"phone": "not a number"}, ValidationError),
        ({"phone": "500000001", "region": "XX"}, ValidationError),
        ({"customer_id": "   "}, ValidationError),
        ({}, ValidationError),
        ({"phone": "+48500000001", "contact_ref": "ab"}, ValidationError),
        ({"phone": "+48500000001", "campaign": "Nope"}, NotFoundError),
    ],
)
def test_bad_input_is_refused_and_nothing_is_audited(installation, by, error):
    seed(installation)
    with Session(installation.engine) as s:
        before = len(s.exec(select(AuditEntry.seq)).all())
    with pytest.raises(error):
        match_contacts(installation.engine, installation.keys, **by)
    with Session(installation.engine) as s:
        assert len(s.exec(select(AuditEntry.seq)).all()) == before


def test_a_number_on_the_dnc_list_shows_when_it_was_listed(any_installation, history, tmp_path):
    from owner_server.lists import suppression
    from owner_server.lists.importing.pipeline import open_file

    path = tmp_path / "dnc.csv"
    path.write_text("telefon\n" + history.phones["A"] + "\n", encoding="utf-8")
    opened = open_file(path)
    suppression.import_dnc(
        any_installation.engine, keys=any_installation.keys, rows=opened.rows(), source_sha256=opened.sha256, actor="t"
    )
    [contact] = _lookup(any_installation, phone=history.phones["A"]).contacts
    last = contact.events[-1]
    assert (last.action, last.agent, last.actor, last.seq) == ("dnc_listed", None, "system:dnc", 0)
    assert last.at >= contact.events[-2].at
    [other] = _lookup(any_installation, phone=history.phones["B"]).contacts
    assert "dnc_listed" not in {e.action for e in other.events}
