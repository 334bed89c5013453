import pytest
from sqlalchemy import text
from sqlmodel import Session

from owner_server.audit import log as audit
from owner_server.core.db import session_scope


def _fill(inst, n=10):
    with session_scope(inst.engine) as s:
        for i in range(n):
            audit.append(s, actor="test", action="thing", object_id=str(i), details={"i": i})


def _verify(inst):
    with Session(inst.engine) as s:
        return audit.verify_chain(s, public_key=inst.audit_signing_key().public_key())


def _sql(inst, stmt, **params):
    with inst.engine.begin() as conn:
        conn.execute(text(stmt), params)


def test_intact_log_verifies(installation):
    _fill(installation)
    result = _verify(installation)
    assert result.ok and result.entries == 11  # + the initialisation entry


def test_entries_chain_in_order(installation):
    _fill(installation, 3)
    with Session(installation.engine) as s:
        rows = s.exec(text("SELECT seq, prev_hash, hash FROM auditentry ORDER BY seq")).all()
    for prev, cur in zip(rows, rows[1:], strict=False):
        assert cur.prev_hash == prev.hash and cur.seq == prev.seq + 1


@pytest.mark.parametrize(
    ("stmt", "bad_seq"),
    [
        ("UPDATE auditentry SET details = replace(details, '5', '6') WHERE seq = 7", 7),
        ("UPDATE auditentry SET actor = 'someone' WHERE seq = 4", 4),
        ("DELETE FROM auditentry WHERE seq = 5", 5),
        ("UPDATE auditentry SET seq = 100 WHERE seq = 3", 3),
    ],
    ids=["edit-details", "edit-actor", "delete", "reorder"],
)
def test_tampering_is_detected(installation, stmt, bad_seq):
    _fill(installation)
    _sql(installation, stmt)
    result = _verify(installation)
    assert not result.ok and result.bad_seq == bad_seq


def test_truncation_with_forged_head_is_caught_by_checkpoint(installation):
    _fill(installation)
    with session_scope(installation.engine) as s:
        audit.sign_checkpoint(s, key=installation.audit_signing_key())
    with Session(installation.engine) as s:
        keep = s.exec(text("SELECT seq, hash FROM auditentry WHERE seq = 6")).one()
    _sql(installation, "DELETE FROM auditentry WHERE seq > 6")
    _sql(installation, "UPDATE audithead SET seq = :seq, hash = :h", seq=keep.seq, h=keep.hash)
    result = _verify(installation)
    assert not result.ok and "truncated" in result.reason


def test_truncation_without_head_update_is_caught(installation):
    _fill(installation)
    _sql(installation, "DELETE FROM auditentry WHERE seq > 8")
    assert not _verify(installation).ok


def test_forged_checkpoint_signature_is_caught(installation):
    _fill(installation)
    with session_scope(installation.engine) as s:
        cp = audit.sign_checkpoint(s, key=installation.audit_signing_key())
    _sql(installation, "UPDATE checkpoint SET signature = :sig WHERE seq = :seq", sig=b"\0" * 64, seq=cp.seq)
    result = _verify(installation)
    assert not result.ok and "signature" in result.reason


def _rewrite_chain_from(inst, start_seq):
    """What a database-level attacker does: recompute every hash after an edit (no keys needed)."""
    from owner_server.models import AuditEntry, AuditHead

    with Session(inst.engine) as s:
        rows = s.exec(text("SELECT seq FROM auditentry ORDER BY seq")).all()
        prev = audit.GENESIS_HASH
        for (seq,) in rows:
            entry = s.get(AuditEntry, seq)
            if seq >= start_seq:
                entry.prev_hash = prev
                entry.hash = audit.entry_hash(entry)
                s.add(entry)
            prev = entry.hash
        head = s.get(AuditHead, 1)
        head.seq, head.hash = rows[-1][0], prev
        s.add(head)
        s.commit()


def test_rewritten_log_without_checkpoints_is_caught_by_the_anchor(installation):
    _fill(installation)
    installation.checkpoint()
    _sql(installation, "DELETE FROM auditentry WHERE seq = 5")
    _sql(installation, "UPDATE auditentry SET seq = seq - 1 WHERE seq > 5")
    _sql(installation, "DELETE FROM checkpoint")
    _rewrite_chain_from(installation, 5)
    assert _verify(installation).ok  # the database alone no longer shows it ...
    result = installation.verify_audit()  # ... but the anchor outside it does
    assert not result.ok and "anchor" in result.reason


def test_dropping_a_middle_checkpoint_breaks_the_checkpoint_chain(installation):
    for _ in range(3):
        _fill(installation, 2)
        installation.checkpoint()
    with Session(installation.engine) as s:
        seqs = [row[0] for row in s.exec(text("SELECT seq FROM checkpoint ORDER BY seq")).all()]
    _sql(installation, "DELETE FROM checkpoint WHERE seq = :seq", seq=seqs[1])
    result = _verify(installation)
    assert not result.ok and result.bad_seq == seqs[2]


def test_checkpoint_is_anchored_in_a_private_file(installation):
    _fill(installation, 2)
    cp = installation.checkpoint()
    anchor_file = installation.settings.data_dir / "audit" / "anchors.jsonl"
    assert str(cp.seq) in anchor_file.read_text() and (anchor_file.stat().st_mode & 0o077) == 0
    assert installation.verify_audit().ok
    assert installation.checkpoint() is None  # nothing new to sign
