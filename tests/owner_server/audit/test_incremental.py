from sqlalchemy import text

from owner_server.audit import log as audit
from owner_server.core.db import session_scope


def _fill(inst, n=10):
    with session_scope(inst.engine) as s:
        for i in range(n):
            audit.append(s, actor="test", action="thing", object_id=str(i), details={"i": i})


def _sql(inst, stmt, **params):
    with inst.engine.begin() as conn:
        conn.execute(text(stmt), params)


def _cp_then_fill(inst):
    _fill(inst)
    cp = inst.checkpoint()
    _fill(inst, 5)
    return cp.seq


def test_incremental_checks_only_what_came_after_the_checkpoint(installation):
    cp_seq = _cp_then_fill(installation)
    result = installation.verify_audit(incremental=True)
    assert result.ok and result.entries == 5 and cp_seq == 11


def test_history_before_the_checkpoint_is_left_to_the_full_pass(installation):
    _cp_then_fill(installation)
    _sql(installation, "UPDATE auditentry SET actor = 'someone' WHERE seq = 4")
    assert installation.verify_audit(incremental=True).ok
    full = installation.verify_audit()
    assert not full.ok and full.bad_seq == 4


def test_edit_after_the_checkpoint_is_caught(installation):
    _cp_then_fill(installation)
    _sql(installation, "UPDATE auditentry SET actor = 'someone' WHERE seq = 13")
    result = installation.verify_audit(incremental=True)
    assert not result.ok and result.bad_seq == 13


def test_delete_after_the_checkpoint_is_caught(installation):
    _cp_then_fill(installation)
    _sql(installation, "DELETE FROM auditentry WHERE seq = 14")
    result = installation.verify_audit(incremental=True)
    assert not result.ok and result.bad_seq == 14


def test_forged_start_checkpoint_is_caught(installation):
    cp_seq = _cp_then_fill(installation)
    _sql(installation, "UPDATE checkpoint SET signature = :sig WHERE seq = :seq", sig=b"\0" * 64, seq=cp_seq)
    result = installation.verify_audit(incremental=True)
    assert not result.ok and "signature" in result.reason


def test_edited_checkpoint_entry_is_caught(installation):
    cp_seq = _cp_then_fill(installation)
    _sql(installation, "UPDATE auditentry SET hash = :h WHERE seq = :seq", h="f" * 64, seq=cp_seq)
    assert not installation.verify_audit(incremental=True).ok


def test_dropped_checkpoint_is_caught_by_the_anchor(installation):
    cp_seq = _cp_then_fill(installation)
    _sql(installation, "DELETE FROM checkpoint WHERE seq = :seq", seq=cp_seq)
    result = installation.verify_audit(incremental=True)
    assert not result.ok and "anchor" in result.reason


def test_truncated_tail_with_head_left_is_caught(installation):
    _cp_then_fill(installation)
    _sql(installation, "DELETE FROM auditentry WHERE seq > 13")
    result = installation.verify_audit(incremental=True)
    assert not result.ok and "truncated" in result.reason
