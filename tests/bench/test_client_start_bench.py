"""The start-up benchmark's own code, run tiny (the real run is by hand, see bench/README.md)."""

from __future__ import annotations

import json

from bench import client_start


def test_smoke_run_starts_both_programs_to_their_first_window_and_reports(capsys):
    assert client_start.main(["--runs", "1", "--platform", "offscreen", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["runs"] == 1 and result["platform"] == "offscreen"
    assert result["hello_start_min_s"] > 0 and result["client_start_min_s"] > 0
    assert result["hello_rss_median_mb"] > 10 and result["client_rss_median_mb"] > 10
    assert isinstance(result["within_target"], bool)
