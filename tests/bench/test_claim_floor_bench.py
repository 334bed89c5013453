"""The claim floor benchmark's own code, run tiny (the real run is by hand, see bench/README.md)."""

from __future__ import annotations

import json

from bench import claim_floor_bench


def test_smoke_run_on_sqlite_prints_both_arms_and_the_ratio_per_worker_count(capsys):
    argv = ["--claims", "8", "--rounds", "1", "--workers", "1,4", "--json"]
    assert claim_floor_bench.main(argv) == 0
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [(r["db"], r["workers"]) for r in results] == [("sqlite", 1), ("sqlite", 4)]
    assert all(r["floor_claims_per_s"][0] > 0 and r["ours_claims_per_s"][0] > 0 and r["ratio"] > 0 for r in results)


def test_worker_counts_outside_the_agents_are_refused(capsys):
    try:
        claim_floor_bench.main(["--workers", "0,65"])
    except SystemExit as exit_:
        assert exit_.code == 2
    else:
        raise AssertionError("accepted")
    assert "--workers" in capsys.readouterr().err
