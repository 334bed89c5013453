"""The claim benchmark's own code, run tiny (the real run is by hand, see bench/README.md)."""

from __future__ import annotations

import json

from bench import claim_bench


def test_smoke_run_on_sqlite_prints_both_arms_and_the_ratio(capsys):
    assert claim_bench.main(["--contacts", "240", "--agents", "4", "--claims", "40", "--rounds", "1", "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["db"] == "sqlite" and result["claims_per_round"] == 40
    assert result["on_claims_per_s"][0] > 0 and result["off_claims_per_s"][0] > 0
    assert result["ratio"] > 0


def test_containment_off_restores_the_real_checks():
    from owner_server.work import distribution, outcomes

    before = (distribution.count_issued, distribution.check_quota, outcomes.check_outcome)
    with claim_bench.containment_off():
        assert distribution.count_issued is not before[0]
    assert (distribution.count_issued, distribution.check_quota, outcomes.check_outcome) == before
