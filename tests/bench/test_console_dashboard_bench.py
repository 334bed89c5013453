"""The dashboard benchmark's own code, run tiny (the real run is by hand, see bench/README.md)."""

from __future__ import annotations

import json

from bench import console_dashboard


def test_smoke_run_on_sqlite_times_both_pages_for_both_roles(capsys):
    args = ["--agents", "40", "--contacts", "2000", "--history", "500", "--alerts", "20", "--runs", "2", "--json"]
    assert console_dashboard.main(args) == 0
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {(r["role"], r["path"]) for r in results} == {
        *((role, path) for role in ("admin", "supervisor") for path in ("/", "/dashboard/live")),
        ("admin", "/dashboard/progress"),
    }
    assert all(0 < r["median_ms"] <= r["max_ms"] and r["runs"] == 2 for r in results)
