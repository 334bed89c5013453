"""Issuance limits on a simulated clock, through the real services, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from owner_server.models import Alert, Outsourcer
from shared.errors import QuotaReachedError

from .containment_support import SHIFT_START, make_shift, policy, quiet_rules


def test_hourly_limit_refuses_the_next_record_until_the_oldest_ages_out(any_installation):
    shift = make_shift(any_installation, policy(limits={"per_hour": 5, "per_day": 100}, rules=quiet_rules()))
    first_issued = shift.now
    for _ in range(5):
        shift.claim(handle_s=60)
    with pytest.raises(QuotaReachedError) as refused:
        shift.next()
    err = refused.value
    assert (err.period, err.issued_hour, err.per_hour) == ("hour", 5, 5)
    assert err.retry_at == first_issued + timedelta(hours=1)
    shift.now = err.retry_at - timedelta(seconds=1)
    with pytest.raises(QuotaReachedError):
        shift.next()
    shift.now = err.retry_at + timedelta(seconds=1)
    result = shift.next()
    assert result.record is not None
    assert result.quota.issued_hour == 5 and result.quota.per_hour == 5  # 4 of the last hour + this one
    assert result.quota.issued_day == 6


def test_under_the_limit_every_next_says_the_count(any_installation):
    shift = make_shift(any_installation, policy(limits={"per_hour": 5, "per_day": 100}, rules=quiet_rules()))
    shift.claim()
    result = shift.next()
    assert result.quota.model_dump() == {"issued_hour": 2, "per_hour": 5, "issued_day": 2, "per_day": 100}
    again = shift.next()  # the open record again: not a new issuance
    assert again.record.lease_id == result.record.lease_id and again.quota.issued_hour == 2


def test_daily_limit_counts_the_campaigns_calendar_day(any_installation):
    shift = make_shift(any_installation, policy(limits={"per_hour": 3, "per_day": 3}, rules=quiet_rules()))
    for _ in range(3):
        shift.claim(handle_s=600)
    with pytest.raises(QuotaReachedError) as refused:
        shift.next()
    assert refused.value.period == "day"
    # next local midnight in Warsaw (CET, UTC+1) is 23:00 UTC
    assert refused.value.retry_at == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    shift.now = datetime(2026, 11, 30, 23, 0, 1, tzinfo=UTC)
    assert shift.next().record is not None


def test_expired_and_unanswered_leases_count_as_issued(any_installation):
    shift = make_shift(any_installation, policy(limits={"per_hour": 1, "per_day": 100}, rules=quiet_rules()))
    shift.next()
    shift.tick(31 * 60)  # the lease expires unanswered
    with pytest.raises(QuotaReachedError):
        shift.next()  # the expired one still counts: limits count issuances, not outcomes


@pytest.mark.parametrize(("org_hour", "expected"), [(3, 3), (10, 5), (None, 5)])
def test_the_lowest_of_campaign_and_outsourcer_limits_applies(any_installation, org_hour, expected):
    shift = make_shift(any_installation, policy(limits={"per_hour": 5, "per_day": 100}, rules=quiet_rules()))
    with Session(any_installation.engine) as session:
        org = session.exec(select(Outsourcer)).one()
        org.per_hour_limit = org_hour
        session.add(org)
        session.commit()
    for _ in range(expected):
        shift.claim()
    with pytest.raises(QuotaReachedError) as refused:
        shift.next()
    assert refused.value.per_hour == expected


def test_reaching_the_limit_raises_no_alert_and_suspends_no_one(any_installation):
    shift = make_shift(any_installation, policy(limits={"per_hour": 2, "per_day": 100}, rules=quiet_rules()))
    shift.claim()
    shift.claim()
    for _ in range(3):
        with pytest.raises(QuotaReachedError):
            shift.next()
    assert not shift.user().suspended
    with Session(any_installation.engine) as session:
        assert session.exec(select(Alert)).all() == []


def test_shift_start_is_a_weekday_morning_in_warsaw():
    local = SHIFT_START.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Warsaw"))
    assert (local.isoweekday(), local.hour) == (1, 8)
