"""Import warnings kept compactly: a million repaired records stay a few megabytes (issue 10)."""

from __future__ import annotations

import gc
import tracemalloc

from owner_server.lists.import_report import ImportReport
from owner_server.lists.importing.normalise import RejectedRow
from owner_server.lists.importing.phones import REPAIRS

ROWS = 1_000_000
CHUNK = 1_000
#: 4 bytes a record number plus the array's growth slack; a list of RejectedRow objects takes ~90 MB.
BOUND = 6 * 1024 * 1024


def _chunk(start: int) -> list[RejectedRow]:
    """One prepared chunk's warnings, as ChunkPreparer makes them (every record repaired)."""
    reason = REPAIRS["trunk_zero"]
    return [RejectedRow(n, "repaired_trunk_zero", reason) for n in range(start, start + CHUNK)]


def test_a_million_repaired_records_stay_within_a_bound():
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        report = ImportReport()
        for start in range(1, ROWS + 1, CHUNK):
            report.warnings += _chunk(start)  # what the importer does with each chunk
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(report.warnings) == ROWS
    assert held < BOUND, f"the report holds {held / 2**20:.1f} MiB for {ROWS:,} warnings"
    assert report.as_dict(with_warnings=False)["warning_counts"] == {"repaired_trunk_zero": ROWS}


def test_warnings_come_back_in_order_per_code_and_the_head_is_cut():
    report = ImportReport()
    report.warnings += [
        RejectedRow(3, "repaired_trunk_zero", "r1"),
        RejectedRow(5, "letters", "second phone dropped"),
        RejectedRow(9, "repaired_trunk_zero", "r1"),
    ]
    rows = [(w.record_no, w.reason_code, w.reason) for w in report.warnings]
    assert rows == [
        (3, "repaired_trunk_zero", "r1"),
        (9, "repaired_trunk_zero", "r1"),
        (5, "letters", "second phone dropped"),
    ]
    assert [w.record_no for w in report.warnings.head(2)] == [3, 9]
    assert report.as_dict()["warnings"] == [{"record": r, "code": c, "reason": t} for r, c, t in rows]
    assert report.as_dict()["warning_counts"] == {"repaired_trunk_zero": 2, "letters": 1}
