"""The ``[strategy]`` policy: always-open windows, codes checked against the dispositions."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from shared.policy import CampaignPolicy

ALL = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DISPOSITIONS = [{"code": "sale", "label": "Sale"}, {"code": "no_answer", "label": "No answer"}]


def _policy(**strategy) -> CampaignPolicy:
    return CampaignPolicy.model_validate({"dispositions": DISPOSITIONS, "strategy": strategy})


def test_a_window_ending_at_24_00_is_open_to_the_last_instant_and_survives_storage():
    policy = _policy(windows=[{"days": ALL, "start": "00:00", "end": "24:00"}])
    assert policy.strategy.allows(datetime(2026, 12, 6, 23, 59, 59, 999999))
    assert policy.strategy.allows(datetime(2026, 12, 6, 0, 0))
    assert '"end":"24:00"' in policy.model_dump_json()
    assert CampaignPolicy.model_validate_json(policy.model_dump_json()) == policy


def test_the_default_windows_close_at_night_and_on_sunday():
    strategy = _policy().strategy
    assert strategy.allows(datetime(2026, 11, 30, 10, 0))  # Monday
    assert not strategy.allows(datetime(2026, 11, 30, 20, 0))
    assert not strategy.allows(datetime(2026, 12, 6, 12, 0))  # Sunday


@pytest.mark.parametrize(
    "strategy",
    [{"final": ["sale", "sael"]}, {"retry_minutes": {"no_anwser": 5}}, {"callback_code": "call_back"}],
)
def test_a_written_code_that_names_no_disposition_is_refused(strategy):
    with pytest.raises(ValidationError, match="not dispositions of the campaign"):
        _policy(**strategy)


def test_default_codes_the_campaign_lacks_are_harmless():
    policy = _policy(final=["sale", "not_interested"], retry_minutes={"no_answer": 60, "busy": 5})
    assert policy.strategy.is_final("sale", 1) and not policy.strategy.is_final("no_answer", 1)
