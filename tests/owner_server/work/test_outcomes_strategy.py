"""Outcomes that carry the strategy, on SQLite and PostgreSQL: notes, ids, late outcomes, sequence gaps."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from owner_server.models import AuditEntry, ContactState, Disposition, Lease
from shared.errors import ConflictError, ValidationError
from shared.protocol import DisplayEventKind
from tests.owner_server.work.strategy_support import contact_of, make_agents, outcome, strategy_policy

NOTE = "Klientka prosi o ofertę na piśmie, zainteresowana światłowodem"


def _lease(shift) -> str:
    record = shift.next().record
    assert record is not None
    return record.lease_id


def _audit(inst, action: str) -> list[dict]:
    with Session(inst.engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.seq))).all()
        return [json.loads(r.details) for r in rows]


def test_notes_are_stored_encrypted_and_never_audited_in_clear(any_installation):
    inst = any_installation
    (a1,) = make_agents(inst, strategy_policy(), agents=1)
    lease = _lease(a1)
    outcome(a1, lease, "sale", notes=NOTE, outcome_id="o-1")
    with Session(inst.engine) as session:
        stored = session.exec(select(Disposition)).one()
        assert stored.notes is not None and NOTE.encode() not in stored.notes
        raw = session.execute(text("SELECT notes FROM disposition")).scalar_one()
        assert b"oferty" not in bytes(raw) and b"oferty" not in bytes(raw)
        everything = " ".join(e.details for e in session.exec(select(AuditEntry)).all())
    assert "oferty" not in everything and "ofertę" not in everything
    assert _audit(inst, "disposition_recorded")[-1]["notes"] is True
    if inst.engine.dialect.name == "sqlite":
        db = Path(str(inst.engine.url.database))
        blob = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # the file and its WAL
        assert len(blob) > 0 and "światłowodem".encode() not in blob


@pytest.mark.parametrize("notes", ["call me on 500 600 700", "nr +48 22 555 01 01 po 17", "pięćset 500-600-700"])
def test_notes_with_a_phone_number_or_too_long_are_refused(any_installation, notes):
    (a1,) = make_agents(any_installation, strategy_policy(), agents=1)
    lease = _lease(a1)
    with pytest.raises(ValidationError) as refused:
        outcome(a1, lease, "sale", notes=notes)
    assert "500" not in str(refused.value) and "555" not in str(refused.value)
    assert contact_of(any_installation, lease).state is ContactState.LEASED


def test_a_repeated_outcome_id_stores_nothing_new_and_gets_the_same_answer(any_installation):
    inst = any_installation
    (a1,) = make_agents(inst, strategy_policy(), agents=1)
    lease = _lease(a1)
    first = outcome(a1, lease, "no_answer", outcome_id="o-1", notes=NOTE, session_seq=1)
    a1.tick(30)  # the client timed out after the server committed, and sends it again
    again = outcome(a1, lease, "no_answer", outcome_id="o-1", notes=NOTE, session_seq=1)
    assert again == first
    with Session(inst.engine) as session:
        assert len(session.exec(select(Disposition)).all()) == 1
    assert contact_of(inst, lease).attempts == 1
    assert len(_audit(inst, "disposition_recorded")) == 1
    with pytest.raises(ConflictError):
        outcome(a1, lease, "sale", outcome_id="o-1", notes=NOTE, session_seq=1)
    with pytest.raises(ConflictError):
        outcome(a1, lease, "no_answer", outcome_id="o-1", notes="inna notatka", session_seq=1)


def _expire(inst, lease_id: str, at) -> None:
    with Session(inst.engine) as session:
        lease = session.get(Lease, lease_id)
        lease.expires_at = at
        session.add(lease)
        session.commit()


def test_a_late_outcome_moves_the_contact_if_nobody_had_it_since(any_installation):
    inst = any_installation
    a1, a2 = make_agents(inst, strategy_policy(), contacts=1)
    lease = _lease(a1)
    _expire(inst, lease, a1.now + timedelta(seconds=1))
    pressed = a1.now
    a1.tick(600)  # the client was offline; the lease expired
    answer = outcome(a1, lease, "sale", outcome_id="late-1", occurred_at=pressed)
    assert answer.lease_id == lease
    stored = contact_of(inst, lease)
    assert stored.state is ContactState.DONE and stored.attempts == 1
    with Session(inst.engine) as session:
        assert session.exec(select(Disposition)).one().late
    assert _audit(inst, "disposition_recorded")[-1]["late"] is True
    assert a2.next().record is None  # it never went to anyone else


def test_a_late_outcome_after_the_contact_went_to_another_agent_is_kept_without_changing_it(any_installation):
    inst = any_installation
    a1, a2 = make_agents(inst, strategy_policy(), contacts=1)
    lease = _lease(a1)
    _expire(inst, lease, a1.now + timedelta(seconds=1))
    a1.tick(60)
    assert a1.next().record is None  # its expired lease closed; it never gets that contact again
    a2.tick(60)
    taken = _lease(a2)  # the contact issued to agent2
    a1.tick(120)
    outcome(a1, lease, "sale", outcome_id="late-2")
    assert contact_of(inst, taken).state is ContactState.LEASED and contact_of(inst, taken).attempts == 0
    assert _audit(inst, "disposition_recorded")[-1]["contact_changed"] is False
    outcome(a2, taken, "no_answer")  # agent2's outcome is the one that counts
    assert contact_of(inst, taken).attempts == 1


def test_sequence_gaps_across_events_and_outcomes_are_audited(any_installation):
    inst = any_installation
    (a1,) = make_agents(inst, strategy_policy(), agents=1)
    lease = _lease(a1)
    a1.events(lease, DisplayEventKind.RECORD_DISPLAYED)  # seq 1
    a1.seq = 4  # 2..4 never arrive
    a1.events(lease, DisplayEventKind.RECORD_HIDDEN)  # seq 5
    outcome(a1, lease, "sale", outcome_id=uuid.uuid4().hex, session_seq=8)  # 6..7 missing
    gaps = _audit(inst, "sequence_gap")
    assert [(g["first_missing"], g["last_missing"]) for g in gaps] == [(2, 4), (6, 7)]
