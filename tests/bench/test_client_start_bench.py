"""The start-up benchmark's own code, run tiny (the real run is by hand, see bench/README.md)."""

from __future__ import annotations

import json

from bench import client_start


def test_smoke_run_starts_both_programs_to_their_first_window_and_the_client_to_ready(capsys):
    assert client_start.main(["--runs", "1", "--platform", "offscreen", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["runs"] == 1 and result["platform"] == "offscreen"
    assert result["hello_start_min_s"] > 0 and result["client_start_min_s"] > 0
    assert result["hello_rss_median_mb"] > 10 and result["client_rss_median_mb"] > 10
    assert isinstance(result["within_target"], bool)
    assert result["blocked"] == client_start.SHIPPED_BLOCK  # measured as shipped unless told otherwise
    # ready (the connection built) comes after the first window, with at least its memory
    assert result["client_ready_min_s"] >= result["client_start_min_s"]
    assert result["client_ready_rss_median_mb"] >= result["client_rss_median_mb"]
