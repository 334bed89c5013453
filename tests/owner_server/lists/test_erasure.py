"""Contact and campaign erasure and retention, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from owner_server.audit import log as audit
from owner_server.core.db import is_sqlite, session_scope
from owner_server.identity.bearer import principal_for
from owner_server.lists.erasure import erase_by_customer_id, erase_by_phone, erase_campaign
from owner_server.lists.retention import run_retention, set_retention
from owner_server.models import AuditEntry, Contact, ContactState, DataKey, Disposition, Lease, User
from owner_server.models._common import utcnow
from owner_server.vault.aead import DecryptionError
from owner_server.vault.keys import KeyService
from owner_server.work.distribution import next_record
from owner_server.work.outcomes import record_disposition
from shared.errors import ConflictError, NotFoundError, ValidationError
from shared.protocol import DispositionRequest
from tests.support.leaks import assert_no_phone

from ..helpers import CONTACTS, add_campaign, seed, stored_ref

WITH_IDS = [dict(c, customer_id=f"C-{i}") for i, c in enumerate(CONTACTS, 1)]


def _agent(inst, login="agent1"):
    with Session(inst.engine) as s:
        user = s.exec(select(User).where(User.login == login)).one()
        return principal_for(s, user=user, session_id="s", device_id="d")


def _contacts(inst, campaign_id=None):
    with Session(inst.engine) as s:
        stmt = select(Contact).order_by(Contact.id)
        if campaign_id is not None:
            stmt = stmt.where(Contact.campaign_id == campaign_id)
        return s.exec(stmt).all()


def _audit_count(inst):
    with Session(inst.engine) as s:
        return s.exec(select(func.count()).select_from(AuditEntry)).one()


def _verify(inst):
    with Session(inst.engine) as s:
        return audit.verify_chain(s, public_key=inst.audit_signing_key().public_key())


def _issue_all(inst):
    """Refs an agent is given until the campaign runs dry."""
    agent, refs = _agent(inst), []
    while True:
        with Session(inst.engine) as s:
            record = next_record(s, agent=agent, keys=inst.keys).record
            if record is None:
                return refs
            refs.append(record.contact_ref)
            record_disposition(s, agent=agent, request=DispositionRequest(lease_id=record.lease_id, code="sale"))
            s.commit()


def _add_campaign(inst, name, people):
    with session_scope(inst.engine) as s:
        return add_campaign(inst, s, name=name, people=people)


def _db_bytes(inst):
    path = inst.settings.data_dir / "custos.db"
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.mark.parametrize("written", ["+48 500 000 001", "500-000-001"])
def test_erase_by_phone_makes_the_contact_unrecoverable(any_installation, written):
    inst = any_installation
    seed(inst)
    before = _contacts(inst)[0]
    report = erase_by_phone(inst.engine, inst.keys, phone=written, actor="admin:test")
    assert report.contact_refs == (before.ref,) and report.storage_scrubbed
    after = next(c for c in _contacts(inst) if c.ref == before.ref)
    assert after.state == ContactState.ERASED and after.payload == b""
    assert after.phone_bidx != before.phone_bidx
    with Session(inst.engine) as s:
        cipher = inst.keys.cipher_for(s, data_key_id=after.data_key_id)
    with pytest.raises(DecryptionError):
        cipher.decrypt_fields(after.ref, after.payload)
    if is_sqlite(inst.engine):  # not even a stale page image of the ciphertext is left on disk
        assert before.payload[20:60] not in _db_bytes(inst)
    assert before.ref not in _issue_all(inst)
    assert len(_contacts(inst)) == len(CONTACTS)
    with Session(inst.engine) as s:
        (entry,) = s.exec(select(AuditEntry).where(AuditEntry.action == "contact_erased")).all()
    assert entry.object_id == before.ref
    assert_no_phone(entry.details, written)
    assert json.loads(entry.details)["reason"] == "data_subject_request"
    assert _verify(inst).ok
    again = erase_by_phone(inst.engine, inst.keys, phone=written, actor="admin:test")
    assert again.contact_refs == ()


def test_erasing_a_leased_contact_closes_the_lease(any_installation):
    inst = any_installation
    seed(inst)
    agent = _agent(inst)
    with Session(inst.engine) as s:
        held = next_record(s, agent=agent, keys=inst.keys).record
        s.commit()
    assert held is not None
    ref = stored_ref(inst, held.lease_id)
    phone = next(c["phone"] for c in CONTACTS if c["first_name"] == held.fields[0].value)  # issue order is random
    report = erase_by_phone(inst.engine, inst.keys, phone=phone, actor="t")
    assert report.contact_refs == (ref,) and report.leases_closed == 1
    with Session(inst.engine) as s:
        assert s.get(Lease, held.lease_id).closed_at is not None
        fresh = next_record(s, agent=agent, keys=inst.keys).record
        s.commit()
    assert fresh is not None and fresh.contact_ref != held.contact_ref
    with Session(inst.engine) as s:  # an outcome arriving for it is kept (late), moves nothing, holds no notes
        request = DispositionRequest(lease_id=held.lease_id, code="sale", notes="prosi o kontakt mailowy")
        record_disposition(s, agent=agent, request=request, keys=inst.keys)
        s.commit()
        kept = s.exec(select(Disposition).where(Disposition.lease_id == held.lease_id)).one()
        assert kept.late and kept.notes is None and s.get(Contact, kept.contact_id).state is ContactState.ERASED


def test_erase_by_customer_id(any_installation):
    inst = any_installation
    seed(inst, contacts=WITH_IDS)
    report = erase_by_customer_id(inst.engine, inst.keys, customer_id=" C-2 ", actor="t", batch=1)
    rows = _contacts(inst)
    assert report.contact_refs == (rows[1].ref,) and rows[1].payload == b""
    with Session(inst.engine) as s:
        cipher = inst.keys.cipher_for(s, data_key_id=rows[0].data_key_id)
    assert [cipher.decrypt_fields(r.ref, r.payload)["customer_id"] for r in (rows[0], rows[2])] == ["C-1", "C-3"]
    assert erase_by_customer_id(inst.engine, inst.keys, customer_id="C-404", actor="t").contact_refs == ()


def test_campaign_option_limits_erasure(any_installation):
    inst = any_installation
    seed(inst)
    other = _add_campaign(inst, "Other", CONTACTS[:1])
    report = erase_by_phone(inst.engine, inst.keys, phone="500000001", campaign="Other", actor="t")
    (erased,) = _contacts(inst, other)
    assert report.contact_refs == (erased.ref,)
    assert sum(c.state == ContactState.ERASED for c in _contacts(inst)) == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"phone": "12"}, ValidationError),
        ({"phone": "five hundred"}, ValidationError),
        ({"phone": "500000001", "region": "XX"}, ValidationError),
        ({"phone": "500000001", "campaign": "Nope"}, NotFoundError),
        ({"customer_id": "  "}, ValidationError),
        ({"customer_id": "C-1", "campaign": "Nope"}, NotFoundError),
    ],
)
def test_bad_input_changes_nothing(installation, kwargs, error):
    seed(installation, contacts=WITH_IDS)
    before, entries = _contacts(installation), _audit_count(installation)
    erase = erase_by_phone if "phone" in kwargs else erase_by_customer_id
    with pytest.raises(error) as caught:
        erase(installation.engine, installation.keys, actor="t", **kwargs)
    assert "500" not in str(caught.value)
    assert [(c.payload, c.state) for c in _contacts(installation)] == [(c.payload, c.state) for c in before]
    assert _audit_count(installation) == entries


def test_campaign_erase_destroys_the_key(any_installation):
    inst = any_installation
    seed(inst)
    data_key_id = _contacts(inst)[0].data_key_id
    result = erase_campaign(inst.engine, inst.keys, name="Camp", actor="admin:test")
    assert (result.data_keys_destroyed, result.contacts_erased, result.already_erased) == (1, 3, False)
    for keys in (inst.keys, KeyService(inst.keys.provider)):
        with Session(inst.engine) as s, pytest.raises(NotFoundError):
            keys.cipher_for(s, data_key_id=data_key_id)
    agent = _agent(inst)
    with Session(inst.engine) as s:
        row = s.get(DataKey, data_key_id)
        assert row.wrapped == b"" and row.destroyed_at is not None
        with pytest.raises(NotFoundError):
            next_record(s, agent=agent, keys=inst.keys)
    assert all(c.state == ContactState.ERASED and c.payload == b"" for c in _contacts(inst))
    assert _verify(inst).ok
    entries = _audit_count(inst)
    assert erase_campaign(inst.engine, inst.keys, name="Camp", actor="admin:test").already_erased
    assert _audit_count(inst) == entries
    with pytest.raises(NotFoundError):
        erase_campaign(inst.engine, inst.keys, name="Nope", actor="admin:test")


def test_retention_erases_only_expired_campaigns_once(any_installation):
    inst = any_installation
    seed(inst)
    later = _add_campaign(inst, "Later", CONTACTS[:1])
    _add_campaign(inst, "Forever", CONTACTS[:1])
    now = utcnow()
    with session_scope(inst.engine) as s:
        set_retention(s, name="Camp", ends_at=now - timedelta(days=10), days=5, actor="t")
        set_retention(s, name="Later", ends_at=now - timedelta(days=1), days=30, actor="t")
    done = run_retention(inst.engine, inst.keys, now)
    assert [r.campaign for r in done] == ["Camp"] and done[0].contacts_erased == 3
    entries = _audit_count(inst)
    assert run_retention(inst.engine, inst.keys, now) == []
    assert _audit_count(inst) == entries
    assert _contacts(inst, later)[0].state == ContactState.NEW
    assert [r.campaign for r in run_retention(inst.engine, inst.keys, now + timedelta(days=30))] == ["Later"]
    states = {c.campaign_id: c.state for c in _contacts(inst)}
    assert list(states.values()).count(ContactState.NEW) == 1  # "Forever" has no retention
    assert _verify(inst).ok


def test_retention_rejects_bad_settings(installation):
    seed(installation)
    now = utcnow()
    with session_scope(installation.engine) as s, pytest.raises(ValidationError):
        set_retention(s, name="Camp", ends_at=now, days=-1, actor="t")
    with session_scope(installation.engine) as s, pytest.raises(ValidationError):
        set_retention(s, name="Camp", ends_at=now.replace(tzinfo=None), days=1, actor="t")
    with session_scope(installation.engine) as s, pytest.raises(NotFoundError):
        set_retention(s, name="Nope", ends_at=now, days=1, actor="t")
    with pytest.raises(ValidationError):
        run_retention(installation.engine, installation.keys, now.replace(tzinfo=None))
    erase_campaign(installation.engine, installation.keys, name="Camp", actor="t")
    with session_scope(installation.engine) as s, pytest.raises(ConflictError):
        set_retention(s, name="Camp", ends_at=now, days=1, actor="t")
