"""Smoke test of ``bench/https_bench.py`` at a tiny size (real servers, TLS, PostgreSQL); no timing asserted."""

from __future__ import annotations

import pytest

from bench import https_bench

pytestmark = [
    pytest.mark.postgres,
    # the load generator's own client sockets (dropped by httpx after a server closed a keep-alive connection)
    pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"),
]


def test_https_bench_runs_every_phase_at_a_tiny_size(pg_cluster):
    result = https_bench.run(
        pg_cluster.new_database(), agents=4, contacts=2000, servers=1, workers=2, threads=2, seconds=1.5, burst_s=1
    )
    assert result.burst["logged_in"] == 4 and not result.burst["errors"]
    assert result.ours_claims_per_s > 0 and result.peer_claims_per_s > 0
    assert result.leases["contacts_open_twice"] == 0 and result.leases["overlapping"] == 0
    assert result.leases["issued_entries"] == result.leases["leases"]
    assert result.audit_ok
    assert "double claims: 0 open twice, 0 overlapping" in https_bench.describe(result)
