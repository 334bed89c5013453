"""The full pass in several processes gives the serial pass's result, in one snapshot."""

import threading

import pytest
from sqlalchemy import text

from owner_server.audit import log as audit
from owner_server.audit.anchor import read_anchors
from owner_server.audit.verify_ranges import check_range, plan_ranges, pool_context, verify_full
from owner_server.core.db import session_scope, snapshot_session

ENTRIES = 60  # + the initialisation entry: head 61, ranges (0,10] (10,20] (20,30] (30,40] (40,50] (50,61]


def _fill(inst, n, start=0):
    with session_scope(inst.engine) as s:
        for i in range(start, start + n):
            audit.append(s, actor="test", action="thing", object_id=str(i), details={"i": i})


def _sql(inst, *stmts):
    with inst.engine.begin() as conn:
        for stmt in stmts:
            conn.execute(text(stmt))


def _both(inst):
    """(serial result, result with 3 processes over 6 ranges) on the same log."""
    key, anchors = inst.audit_signing_key().public_key(), read_anchors(inst.settings.data_dir)
    with snapshot_session(inst.engine) as s:
        serial = audit.verify_chain(s, public_key=key, anchors=anchors)
    with snapshot_session(inst.engine) as s:
        ranged = verify_full(s, public_key=key, anchors=anchors, processes=3, min_parallel=1, batch=4)
    return serial, ranged


@pytest.fixture
def log(any_installation):
    _fill(any_installation, 25)
    any_installation.checkpoint()  # at 26, inside range 3
    _fill(any_installation, ENTRIES - 25, start=25)
    return any_installation


def test_plan_ranges_covers_the_log_in_order():
    assert plan_ranges(61, 6) == [(0, 10), (10, 20), (20, 30), (30, 40), (40, 50), (50, 61)]
    assert plan_ranges(3, 6) == [(0, 1), (1, 2), (2, 3)]


def test_a_range_that_cannot_be_read_is_not_ok(tmp_path):
    found = check_range(("sqlite", str(tmp_path / "elsewhere.db"), ""), 0, 10, frozenset())
    assert not found.ok and (found.after, found.upto) == (0, 10)


def test_intact_log_gives_the_serial_result(log):
    serial, ranged = _both(log)
    assert serial == ranged and ranged.ok and ranged.entries == ENTRIES + 1 and ranged.checkpoints == 1


@pytest.mark.parametrize(
    ("stmts", "bad_seq"),
    [
        (["UPDATE auditentry SET actor = 'someone' WHERE seq = 15"], 15),
        (["UPDATE auditentry SET details = replace(details, '1', '7') WHERE seq = 20"], 20),
        (["UPDATE auditentry SET object_id = 'x' WHERE seq = 21"], 21),
        (["DELETE FROM auditentry WHERE seq = 21"], 21),
        (["DELETE FROM auditentry WHERE seq = 20"], 20),
        (
            [
                "UPDATE auditentry SET seq = -1 WHERE seq = 31",
                "UPDATE auditentry SET seq = 31 WHERE seq = 32",
                "UPDATE auditentry SET seq = 32 WHERE seq = -1",
            ],
            31,
        ),
        (["UPDATE auditentry SET seq = 100 WHERE seq = 3"], 3),
        (["UPDATE auditentry SET ts = 'x' WHERE seq = 61"], 61),
        (["UPDATE auditentry SET hash = 'f' WHERE seq = 26"], 26),
    ],
    ids=[
        "edit-middle-of-range-2",
        "edit-last-of-range-2",
        "edit-first-of-range-3",
        "delete-first-of-range-3",
        "delete-last-of-range-2",
        "reorder-at-boundary",
        "reorder-beyond-head",
        "edit-head",
        "edit-checkpointed",
    ],
)
def test_tampering_gives_the_serial_result(log, stmts, bad_seq):
    _sql(log, *stmts)
    serial, ranged = _both(log)
    assert not ranged.ok and ranged.bad_seq == bad_seq
    assert ranged == serial


def test_concurrent_appends_do_not_fail_the_pass(log):
    stop = threading.Event()

    def keep_appending():
        i = 1000
        while not stop.is_set():
            _fill(log, 3, start=i)
            i += 3

    writer = threading.Thread(target=keep_appending)
    writer.start()
    try:
        results = [log.verify_audit(processes=2) for _ in range(3)]
        with snapshot_session(log.engine) as s:
            results.append(
                verify_full(s, public_key=log.audit_signing_key().public_key(), processes=2, min_parallel=1, batch=7)
            )
    finally:
        stop.set()
        writer.join()
    assert all(r.ok for r in results), results
    assert results[-1].entries > ENTRIES


def test_fields_that_need_escaping_verify_and_still_catch_an_edit(log):
    with session_scope(log.engine) as s:
        for actor in ['admin:"quoted"', "admin:back\\slash", "admin:line\nbreak", "admin:zażółć\u2028"]:
            audit.append(s, actor=actor, action="thing", object_id='o"\t', details={"k": 'v"\\'})
    serial, ranged = _both(log)
    assert ranged == serial and ranged.ok and ranged.entries == ENTRIES + 5
    _sql(log, "UPDATE auditentry SET action = 'other' WHERE seq = 63")
    serial, ranged = _both(log)
    assert ranged == serial and ranged.bad_seq == 63 and ranged.reason == "entry 63 was altered (hash mismatch)"


def test_workers_are_forked_only_from_a_process_of_one_thread():
    alone = threading.active_count() == 1
    assert pool_context().get_start_method() == ("fork" if alone else "forkserver")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:  # a thread that may hold a lock at the fork: the workers come from the fork server
        assert pool_context().get_start_method() == "forkserver"
    finally:
        stop.set()
        other.join()
