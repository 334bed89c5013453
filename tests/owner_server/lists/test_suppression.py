"""DNC suppression on both databases, and a DNC import while agents hold records (through the agent API)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, col, select

from owner_server.api.app import create_app
from owner_server.audit import log as audit
from owner_server.identity.bearer import principal_for
from owner_server.lists import suppression
from owner_server.lists.importing.pipeline import open_file
from owner_server.models import AuditEntry, Contact, ContactState, Disposition, Lease
from owner_server.work.distribution import next_record

from ..cases_support import contacts, import_case, make_campaign
from ..helpers import CONTACTS, seed, stored_ref
from ..test_agent_api import API, logged_in


def _dnc(inst, path: Path):
    opened = open_file(path)
    return suppression.import_dnc(
        inst.engine, keys=inst.keys, rows=opened.rows(), source_sha256=opened.sha256, actor="test"
    )


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("telefon\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _agent(inst, login="agent1"):
    from sqlmodel import select

    from owner_server.models import User

    with Session(inst.engine) as s:
        user = s.exec(select(User).where(User.login == login)).one()
        return principal_for(s, user=user, session_id="s", device_id="d")


def test_dnc_number_is_never_issued(any_installation, tmp_path):
    seed(any_installation)
    # the first contact's number, written another way
    report = _dnc(any_installation, _write(tmp_path / "dnc.csv", ["500 000 001", "brak"]))
    assert report.added == 1 and report.contacts_suppressed == 1
    assert [r.record_no for r in report.rejected] == [2]
    agent = _agent(any_installation)
    issued = []
    with Session(any_installation.engine) as s:
        for _ in range(len(CONTACTS)):
            rec = next_record(s, agent=agent, keys=any_installation.keys).record
            if rec is None:
                break
            issued.append(rec.contact_ref)
            s.exec(text("UPDATE lease SET closed_at = CURRENT_TIMESTAMP"))
            s.commit()
    assert len(issued) == len(CONTACTS) - 1


def test_dnc_before_contact_import_suppresses_at_issue_time(any_installation, tmp_path, cases_dir):
    _dnc(any_installation, _write(tmp_path / "dnc.csv", ["+48500000001"]))
    camp = make_campaign(any_installation)
    report = import_case(any_installation, cases_dir / "case01_cp1250_semicolon.csv", camp)
    assert report.suppressed == 1 and report.as_dict()["suppressed_by_dnc"] == 1
    seed(any_installation, contacts=[], campaign="Other")  # creates agent1 on another campaign
    with Session(any_installation.engine) as s:
        clause = suppression.is_suppressed_clause()
        from sqlmodel import select

        from owner_server.models import Contact

        blocked = s.exec(select(Contact).where(clause)).all()
    assert len(blocked) == 1
    states = [c["_state"] for c in contacts(any_installation)]
    assert states == ["suppressed", "new", "new", "new"]  # stored, marked at publish, never issued


def test_dnc_is_idempotent_and_stores_only_indexes(any_installation, tmp_path):
    path = _write(tmp_path / "dnc.csv", ["+48 600 000 002", "0048600000002"])
    first = _dnc(any_installation, path)
    second = _dnc(any_installation, path)
    assert (first.added, second.added, second.already_listed) == (1, 0, 1)
    with any_installation.engine.connect() as conn:
        rows = [bytes(r[0]) for r in conn.execute(text("SELECT phone_bidx FROM suppression"))]
    assert len(rows) == 1 and b"600000002" not in rows[0] and len(rows[0]) == 32


@pytest.fixture
def agent_api(any_installation) -> Iterator[TestClient]:
    """The real agent API in process over the installation's database (SQLite, then PostgreSQL)."""
    inst = any_installation
    app = create_app(inst.settings, engine=inst.engine, keys=inst.keys)
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def _phone_of(inst, contact_ref: str) -> str:
    with Session(inst.engine) as s:
        contact = s.exec(select(Contact).where(Contact.ref == contact_ref)).one()
        return inst.keys.cipher_for(s, data_key_id=contact.data_key_id).decrypt_fields(contact.ref, contact.payload)[
            "phone"
        ]


def test_dnc_import_withdraws_a_record_an_agent_holds(any_installation, agent_api, tmp_path):
    inst, api = any_installation, agent_api
    setup = seed(inst, agents=("agent1", "agent2"))
    h1, h2 = logged_in(api, setup, "agent1"), logged_in(api, setup, "agent2")
    held = api.post(f"{API}/next", headers=h1, json={}).json()["record"]
    other = api.post(f"{API}/next", headers=h2, json={}).json()["record"]
    held_ref = stored_ref(inst, held["lease_id"])
    national = _phone_of(inst, held_ref).removeprefix("+48")
    written = f"{national[:3]} {national[3:6]} {national[6:]}"  # the number, written another way

    report = _dnc(inst, _write(tmp_path / "dnc.csv", [written]))

    assert (report.added, report.contacts_suppressed, report.leases_withdrawn) == (1, 1, 1)
    # an outcome for the withdrawn record is kept (late) but moves nothing: the contact stays suppressed
    r = api.post(f"{API}/dispositions", headers=h1, json={"lease_id": held["lease_id"], "code": "sale"})
    assert r.status_code == 200, r.text
    fresh = api.post(f"{API}/next", headers=h1, json={}).json()["record"]
    assert fresh is not None and fresh["lease_id"] != held["lease_id"]
    assert fresh["contact_ref"] not in (held["contact_ref"], other["contact_ref"])
    # another agent's record, not on the list, is untouched
    again = api.post(f"{API}/next", headers=h2, json={}).json()["record"]
    assert again["lease_id"] == other["lease_id"]
    r = api.post(f"{API}/dispositions", headers=h2, json={"lease_id": other["lease_id"], "code": "sale"})
    assert r.status_code == 200, r.text
    with Session(inst.engine) as s:
        contact = s.exec(select(Contact).where(Contact.ref == held_ref)).one()
        lease = s.get(Lease, held["lease_id"])
        entries = s.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).all()
        assert contact.state is ContactState.SUPPRESSED
        assert lease is not None and lease.closed_at is not None
        kept = s.exec(select(Disposition).where(Disposition.lease_id == held["lease_id"])).one()
        assert kept.late and contact.attempts == 0
        assert audit.verify_chain(s, public_key=None).ok
    withdrawn = [e for e in entries if e.action == "lease_withdrawn"]
    assert len(withdrawn) == 1
    entry = withdrawn[0]
    assert (entry.actor, entry.object_type, entry.object_id) == ("test", "contact", held_ref)
    assert json.loads(entry.details) == {"lease_id": held["lease_id"], "reason": "dnc"}
    assert national not in entry.details
    (imported,) = [json.loads(e.details) for e in entries if e.action == "dnc_imported"]
    assert imported["leases_withdrawn"] == 1 and imported["contacts_suppressed"] == 1


def test_dnc_import_of_a_number_already_listed_withdraws_nothing_twice(any_installation, agent_api, tmp_path):
    inst, api = any_installation, agent_api
    setup = seed(inst)
    h1 = logged_in(api, setup, "agent1")
    held = api.post(f"{API}/next", headers=h1, json={}).json()["record"]
    path = _write(tmp_path / "dnc.csv", [_phone_of(inst, stored_ref(inst, held["lease_id"]))])
    first, second = _dnc(inst, path), _dnc(inst, path)
    assert (first.leases_withdrawn, second.leases_withdrawn, second.contacts_suppressed) == (1, 0, 0)
    nxt = api.post(f"{API}/next", headers=h1, json={}).json()["record"]
    r = api.post(f"{API}/dispositions", headers=h1, json={"lease_id": nxt["lease_id"], "code": "sale"})
    assert r.status_code == 200, r.text


def test_a_dnc_file_lists_every_phone_column(installation, tmp_path):
    """Issue 10: a DNC file's phone, phone2, phone3 … columns are all listed."""
    path = tmp_path / "dnc.csv"
    path.write_text("telefon;telefon 2;telefon 3;telefon 4\n500 000 201;500 000 202;500 000 203;500 000 204\n")
    assert _dnc(installation, path).added == 4


def test_a_dnc_listed_callback_is_suppressed_and_leaves_the_callback_index(any_installation, tmp_path):
    """Issue 11: a suppressed contact keeps no callback time, so the callback tiers' index holds only live ones."""
    from datetime import timedelta

    from owner_server.core.db import session_scope
    from owner_server.models._common import utcnow

    seed(any_installation)
    with session_scope(any_installation.engine) as s:
        first = s.exec(select(Contact).order_by(col(Contact.id))).first()
        first.state, first.callback_at = ContactState.CALLBACK, utcnow() + timedelta(hours=1)
    report = _dnc(any_installation, _write(tmp_path / "dnc.csv", ["500 000 001"]))
    assert report.contacts_suppressed == 1
    with Session(any_installation.engine) as s:
        again = s.get(Contact, first.id)
        assert (again.state, again.callback_at, again.callback_user_id) == (ContactState.SUPPRESSED, None, None)
