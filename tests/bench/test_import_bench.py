"""The import benchmark's own code, run tiny (the real run is by hand, see bench/README.md)."""

from __future__ import annotations

import json

import pytest

from bench import import_bench


def test_smoke_run_on_sqlite_prints_rates_ratio_and_memory(capsys):
    assert import_bench.main(["--rows", "2000", "--db", "sqlite", "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["db"] == "sqlite" and result["rows"] == 2000
    assert result["ours"]["imported"] == 2000
    assert result["floor_rows_per_s"] > 0 and result["ours_rows_per_s"] > 0
    assert result["ratio"] == pytest.approx(result["ours_rows_per_s"] / result["floor_rows_per_s"])
    assert result["ours"]["peak_rss_mb"] > 0


@pytest.mark.postgres
def test_smoke_run_on_postgresql(capsys):
    from tests.support.pg_cluster import find_pg_bin

    if find_pg_bin() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    assert import_bench.main(["--rows", "2000", "--db", "postgresql"]) == 0
    out = capsys.readouterr().out
    assert "[postgresql] 2,000 rows" in out and "ratio ours/floor" in out


def test_description_shows_targets_and_flatness():
    run = import_bench.ImportRun(
        rows=200_000,
        imported=200_000,
        seconds=4.0,
        staging_seconds=3.5,
        peak_rss_mb=150.0,
        worker_peak_rss_mb=90.0,
        rss_at={100_000: (300.0, 200.0), 200_000: (301.0, 201.0)},
    )
    text = import_bench.describe(import_bench.Result("sqlite", 200_000, 100_000.0, 50_000.0, 0.5, run))
    assert "50,000 rows/s" in text and "0.50x" in text and "[target >= 0.5x: met]" in text
    assert "RSS 300 → 301 MB" in text and "from 100,000 to 200,000 rows" in text
