"""Smoke test of ``bench/https_bench.py`` at a tiny size (real servers over TLS, SQLite and PostgreSQL); no timing."""

from __future__ import annotations

import pytest

from bench import https_bench

pytestmark = [
    # the load generator's own client sockets (dropped by httpx after a server closed a keep-alive connection)
    pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"),
]


def _check(result: https_bench.Result, agents: int) -> None:
    burst, opened = result.burst, result.open_loop
    assert burst["logged_in"] == agents and not burst["errors"], burst
    assert burst["agent"]["n"] == agents and burst["next"]["n"] == agents
    assert burst["cpu"]["server_cpu_ms"] > 0
    assert not opened["errors"] and opened["next"]["n"] == opened["claims"] > 0, opened
    assert result.ours_claims_per_s > 0 and result.peer_claims_per_s > 0
    assert result.cpu["closed_ours"]["server_cpu_ms"] > 0 and result.cpu["closed_peer"]["server_cpu_ms"] > 0
    assert result.leases["contacts_open_twice"] == 0 and result.leases["overlapping"] == 0
    assert result.leases["issued_entries"] == result.leases["leases"]
    assert result.audit_ok
    assert "double claims: 0 open twice, 0 overlapping" in https_bench.describe(result)


@pytest.mark.postgres
def test_https_bench_runs_every_phase_at_a_tiny_size_on_postgresql(pg_cluster):
    result = https_bench.run(
        pg_cluster.new_database(), agents=4, contacts=500, servers=1, workers=2, threads=2, seconds=3, burst_s=1
    )
    assert result.database == "postgresql"
    _check(result, 4)


def test_https_bench_runs_every_phase_at_a_tiny_size_on_sqlite():
    result = https_bench.run("", agents=4, contacts=500, servers=1, workers=1, threads=2, seconds=3, burst_s=1)
    assert result.database == "sqlite" and result.open_loop["target_per_s"] == round(4 / 60, 2)
    _check(result, 4)


def test_the_cli_refuses_several_processes_on_sqlite(capsys):
    with pytest.raises(SystemExit) as exited:
        https_bench.main(["--database", "sqlite", "--workers", "2", "--servers", "1"])
    assert exited.value.code == 2
    assert "SQLite has one writer" in capsys.readouterr().err
