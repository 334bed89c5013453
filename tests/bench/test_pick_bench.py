"""The pick benchmark's own code, run tiny (the real run is by hand, see bench/README.md)."""

from __future__ import annotations

import json

from bench import pick_bench


def test_smoke_run_on_sqlite_prints_fresh_worked_and_the_ratio(capsys):
    assert pick_bench.main(["--contacts", "400", "--worked", "200", "--picks", "5", "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["db"] == "sqlite" and result["contacts"] == 400 and result["worked"] == 200
    assert result["fresh_ms"] > 0 and result["worked_ms"] > 0 and result["ratio"] > 0
