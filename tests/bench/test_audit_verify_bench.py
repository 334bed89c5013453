"""The audit verify benchmark's own code, run tiny (the real run is by hand, see bench/README.md)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from bench import audit_verify_bench


def test_smoke_run_on_sqlite_prints_rates_and_the_ratio(capsys):
    assert audit_verify_bench.main(["--entries", "3000", "--processes", "2", "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["db"] == "sqlite" and result["entries"] == 3000 and result["processes"] == 2
    for rate in ("floor_per_s", "ours_per_s", "ours_serial_per_s", "cli_per_s", "floor_cpu_us", "ours_cpu_us"):
        assert result[rate] > 0
    assert result["ratio"] == pytest.approx(result["ours_per_s"] / result["floor_per_s"])


def test_the_timed_passes_fail_on_a_tampered_entry(tmp_path):
    inst = audit_verify_bench.build(tmp_path, "", 500)
    try:
        assert audit_verify_bench.ours_pass(inst, 2) == 504  # init + 500 + 3 appended
        with inst.engine.begin() as conn:
            conn.execute(text("UPDATE auditentry SET object_id = 'x' WHERE seq = 250"))
        with pytest.raises(audit_verify_bench.BrokenLogError, match="entry 250: entry 250 was altered"):
            audit_verify_bench.ours_pass(inst, 2)
        with pytest.raises(audit_verify_bench.BrokenLogError, match="exit 1: entry 250 was altered"):
            audit_verify_bench.cli_pass(inst, 2)
    finally:
        inst.close()


@pytest.mark.postgres
def test_smoke_run_on_postgresql(capsys):
    from tests.support.pg_cluster import find_pg_bin

    if find_pg_bin() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    assert audit_verify_bench.main(["--entries", "2000", "--db", "postgresql"]) == 0
    out = capsys.readouterr().out
    assert "[postgresql] 2,000 entries" in out and "ratio ours/floor" in out
