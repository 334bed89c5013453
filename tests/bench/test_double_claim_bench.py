"""Smoke test of ``bench/double_claim_bench.py`` at a tiny size: 2 real servers over TLS, one throwaway PostgreSQL.

No timing: it checks that every part runs and every check is made (0 double claims, the rogue
stopped at exactly its limit by both processes, audit verify), with an access token of 5 s so
the agents renew their tokens during the run.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench import double_claim_bench
from tests.support.pg_cluster import find_pg_bin

pytestmark = pytest.mark.postgres


@pytest.fixture
def reachable_dir():
    """A temp dir the ``postgres`` user can reach when the tests run as root (pytest's own tmp_path is 0700)."""
    made = Path(tempfile.mkdtemp(prefix="custos-dc-"))
    made.chmod(0o755)
    yield made
    shutil.rmtree(made, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(find_pg_bin() is None, reason="PostgreSQL binaries (initdb, pg_ctl) are not installed")
def test_a_tiny_run_makes_every_check_and_stops_everything(reachable_dir):
    out = reachable_dir / "run"
    argv = ["--claims", "300", "--servers", "2", "--agents", "8", "--contacts", "400", "--out", str(out)]
    argv += ["--rogue-limit", "3", "--rogue-every", "0.5", "--progress-s", "2", "--token-ttl-s", "5"]
    assert double_claim_bench.main(argv) == 0

    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    load, checks = result["load"], result["checks"]
    assert load["stopped_by"] == "done" and load["claims"] == 300 and not load["honest"]["errors"], load
    assert load["refreshes"] > 0  # tokens of 5 s renewed over /refresh during the run
    assert checks["contacts_open_twice"] == 0 and checks["overlapping"] == 0
    assert checks["leases"] == checks["contacts_leased"] == checks["record_issued_entries"] == 303
    assert list(checks["rogue_leases_by_day"].values()) == [3] and checks["rogue_verdict"] == "held"
    assert load["rogue"]["refusals"].get("429 quota_reached", 0) > 0
    assert checks["honest_closed"] == 300 and checks["honest_suspended"] == 0
    assert checks["audit_verify"]["ok"] and checks["ok"]
    assert "0 open twice, 0 overlapping" in (out / "result.txt").read_text(encoding="utf-8")
    lines = (out / "progress.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines and json.loads(lines[-1])["claims"] == 300
    assert not (out / "pg").exists()  # the cluster was stopped and removed
    ports = [urlsplit(line.split()[-4]).port for line in _started(out)]
    assert ports and not any(_listening(p) for p in ports if p)


def _started(out):
    for log in sorted(out.glob("server-*.log")):
        yield from (x for x in log.read_text(errors="replace").splitlines() if "Uvicorn running on" in x)


def test_an_out_dir_in_use_is_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "old").write_text("x", encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        double_claim_bench.main(["--claims", "10", "--out", str(tmp_path)])
    assert exited.value.code == 2
    assert "is not an empty directory" in capsys.readouterr().err


def test_limits_are_twice_an_agents_share_and_refuse_the_policy_ceiling():
    from bench.double_claim_checks import limits_for

    assert limits_for(1_000_000, 200) == {"velocity": 10_100, "per_hour": 10_100, "per_day": 10_100}
    with pytest.raises(ValueError, match="more --agents"):
        limits_for(1_000_000, 10)


def test_the_latency_histogram_keeps_quantiles_within_its_bucket_width():
    import random

    from bench.claim_agents import Histogram

    values, hist = sorted(random.Random(3).expovariate(10) for _ in range(20_000)), Histogram()
    for value in values:
        hist.add(value)
    summary = hist.summary()
    for q, key in ((0.5, "p50_ms"), (0.99, "p99_ms")):
        exact = values[int(q * len(values))] * 1000
        assert exact <= summary[key] <= exact * 1.06
    assert summary["max_ms"] == round(values[-1] * 1000, 1) and summary["n"] == 20_000
    assert len(hist.counts) < 300  # buckets, not values
