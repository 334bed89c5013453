import pytest
from sqlalchemy import text
from sqlmodel import Session

from owner_server.db import session_scope
from owner_server.services import audit


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
