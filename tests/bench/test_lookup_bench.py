"""The lookup benchmark's own code, run tiny (the real run is by hand, see bench/README.md)."""

from __future__ import annotations

import json

import pytest

from bench import lookup_bench


def test_smoke_run_on_sqlite_loads_looks_up_and_checks_every_answer(capsys):
    assert (
        lookup_bench.main(["--contacts", "1000", "--entries", "5000", "--lookups", "20", "--agents", "3", "--json"])
        == 0
    )
    [result] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (result["db"], result["contacts"], result["entries"], result["events_per_contact"]) == (
        "sqlite",
        1000,
        5000,
        5,
    )
    assert result["lookups"] == 20
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]


@pytest.mark.postgres
def test_smoke_run_on_postgresql(capsys):
    from tests.support.pg_cluster import find_pg_bin

    if find_pg_bin() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    assert (
        lookup_bench.main(
            ["--contacts", "500", "--entries", "2500", "--lookups", "10", "--agents", "2", "--db", "postgresql"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "[postgresql] 500 contacts, 2,500 audit entries" in out and "p99" in out


def test_description_shows_the_target():
    ok = lookup_bench.Result("sqlite", 1_000_000, 5_000_000, 200, 300.0, 3.0, 12.0, 20.0, 5)
    missed = lookup_bench.Result("sqlite", 1_000_000, 5_000_000, 200, 300.0, 30.0, 75.0, 90.0, 5)
    assert "p99 12.0 ms" in lookup_bench.describe(ok) and "target p99 < 50 ms: ok" in lookup_bench.describe(ok)
    assert "MISSED" in lookup_bench.describe(missed)
