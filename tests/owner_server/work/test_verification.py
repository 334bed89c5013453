"""verify_only fields through the real agent API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from owner_server.models import AuditEntry
from owner_server.work.verification import normalise, verify_field
from shared.calls import VerifyRequest
from shared.errors import ErrorCode, NotFoundError, RateLimitedError
from tests.owner_server.work.strategy_support import make_agents, strategy_policy


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("1990-01-31", "31.01.1990"),
        ("31/01/1990", "1990-01-31"),
        ("31011990", "1990-01-31"),
        ("31-01-1990", "19900131"),
        ("90 001", "90-001"),
        ("ab-12 CD", "AB12cd"),
    ],
)
def test_values_are_compared_normalised(typed, stored):
    assert normalise(typed) == normalise(stored)


def test_different_dates_do_not_match():
    assert normalise("30.01.1990") != normalise("1990-01-31")


def _verify(shift, lease_id, field, value):
    request = VerifyRequest(lease_id=lease_id, field=field, value=value)
    return shift._call(verify_field, request=request, keys=shift.inst.keys)


def test_verify_only_answers_match_or_not_three_times_and_never_the_value(any_installation):
    inst = any_installation
    (a1,) = make_agents(inst, strategy_policy(), agents=1)
    record = a1.next().record
    assert [v.name for v in record.verify_fields] == ["birth_date", "postal_code"]
    shown = record.model_dump_json()  # its random hex ids may hold "1990", so look for whole dates
    assert not any(form in shown for form in ("1990-01-31", "31.01.1990", "31/01/1990", "19900131", "31011990"))
    assert "90-001" not in shown and "90001" not in shown
    answers = [_verify(a1, record.lease_id, "birth_date", typed) for typed in ("01.01.1990", "31.01.1990")]
    assert [(a.match, a.tries_left) for a in answers] == [(False, 2), (True, 1)]
    assert _verify(a1, record.lease_id, "postal_code", "90 001").match  # each field has its own tries
    assert not _verify(a1, record.lease_id, "birth_date", "1991-01-31").match
    with pytest.raises(RateLimitedError) as spent:
        _verify(a1, record.lease_id, "birth_date", "1990-01-31")
    assert spent.value.code is ErrorCode.VERIFY_EXHAUSTED
    with pytest.raises(NotFoundError):  # a visible field is not verified (nor a hidden or unknown one)
        _verify(a1, record.lease_id, "first_name", "Name0")
    with Session(inst.engine) as session:
        tries = [json.loads(e.details) for e in session.exec(select(AuditEntry)).all() if e.action == "field_verified"]
        everything = " ".join(e.details for e in session.exec(select(AuditEntry)).all())
    assert [(t["field"], t["match"]) for t in tries] == [
        ("birth_date", False),
        ("birth_date", True),
        ("postal_code", True),
        ("birth_date", False),
    ]
    for value in ("1990", "01.01", "90-001", "90 001"):
        assert value not in everything
    a1.dispose(record.lease_id, "sale")
    with pytest.raises(NotFoundError):  # only on the open lease
        _verify(a1, record.lease_id, "postal_code", "90-001")


def test_the_verify_route_is_mounted_and_needs_a_login(client):
    r = client.post("/api/v1/agent/verify", json={"lease_id": "x", "field": "birth_date", "value": "1990-01-31"})
    assert r.status_code == 401


def test_a_callback_to_oneself_brings_no_new_tries(any_installation):
    """Red-team finding: tries were counted per lease, so calling oneself back gave three more guesses."""
    from datetime import timedelta

    from tests.owner_server.work.strategy_support import outcome

    (a1,) = make_agents(any_installation, strategy_policy(), agents=1, contacts=1)
    record = a1.next().record
    for wrong in ("01.01.1990", "02.01.1990", "03.01.1990"):
        assert not _verify(a1, record.lease_id, "birth_date", wrong).match
    a1.tick(60)
    outcome(a1, record.lease_id, "callback", callback_at=a1.now + timedelta(minutes=5), callback_for="me")
    a1.tick(6 * 60)
    again = a1.next().record
    assert again is not None and again.lease_id != record.lease_id and again.contact_ref == record.contact_ref
    with pytest.raises(RateLimitedError) as spent:
        _verify(a1, again.lease_id, "birth_date", "1990-01-31")
    assert spent.value.code is ErrorCode.VERIFY_EXHAUSTED
    assert _verify(a1, again.lease_id, "postal_code", "90-001").match  # another field keeps its own tries
