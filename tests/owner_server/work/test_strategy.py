"""The contact strategy on a simulated clock, on SQLite and PostgreSQL: callbacks, retries, finals, windows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session

from owner_server.identity.bearer import principal_for
from owner_server.models import ContactState, Suppression
from owner_server.work.context import load_context
from owner_server.work.strategy import check_dialable
from shared.errors import ConflictError, ErrorCode, ValidationError
from shared.protocol import IdleReason
from tests.owner_server.work.strategy_support import contact_of, make_agents, outcome, strategy_policy


def _ref(shift) -> str:
    record = shift.next().record
    assert record is not None
    return record.lease_id


def _callback(shift, lease_id: str, minutes: int, owed: str = "me"):
    return outcome(shift, lease_id, "callback", callback_at=shift.now + timedelta(minutes=minutes), callback_for=owed)


def test_a_callback_for_me_comes_back_to_me_first_when_due_then_to_the_pool_after_the_grace(any_installation):
    a1, a2 = make_agents(any_installation, strategy_policy(callback_grace_minutes=15), contacts=4)
    lease = _ref(a1)
    contact = contact_of(any_installation, lease).ref
    _callback(a1, lease, 60)
    assert contact_of(any_installation, lease).state is ContactState.CALLBACK
    for shift in (a1, a2):
        shift.tick(30 * 60)  # not due yet: others come first
        other = shift.next().record
        assert contact_of(any_installation, other.lease_id).ref != contact
        outcome(shift, other.lease_id, "sale")
    a1.tick(30 * 60)  # due now (60 min after): the owing agent gets it before new records
    back = a1.next().record
    assert contact_of(any_installation, back.lease_id).ref == contact and back.attempts == 1
    _callback(a1, back.lease_id, 60)
    a2.now = a1.now + timedelta(minutes=61)
    # due but within the grace: another agent does not get it
    assert contact_of(any_installation, _ref(a2)).ref != contact
    outcome(a2, a2.leases[-1], "sale")
    a2.tick(15 * 60)  # past the grace, its agent away: the pool takes it
    assert contact_of(any_installation, _ref(a2)).ref == contact


def test_a_callback_for_anyone_goes_to_the_pool_when_due(any_installation):
    a1, a2 = make_agents(any_installation, strategy_policy(), contacts=3)
    lease = _ref(a1)
    contact = contact_of(any_installation, lease).ref
    _callback(a1, lease, 30, owed="anyone")
    a2.tick(30 * 60)
    assert contact_of(any_installation, _ref(a2)).ref == contact


def test_a_retry_comes_back_after_its_delay_and_not_before(any_installation):
    (a1,) = make_agents(any_installation, strategy_policy(retry_minutes={"busy": 15}), agents=1, contacts=2)
    lease = _ref(a1)
    contact = contact_of(any_installation, lease).ref
    outcome(a1, lease, "busy")
    assert contact_of(any_installation, lease).next_eligible_at == a1.now + timedelta(minutes=15)
    a1.tick(14 * 60)
    other = _ref(a1)
    assert contact_of(any_installation, other).ref != contact
    outcome(a1, other, "sale")
    assert a1.next().idle_reason is IdleReason.NO_CONTACTS
    a1.tick(60)  # the delay passed: a retry may go to the same agent
    assert contact_of(any_installation, _ref(a1)).ref == contact


def test_final_outcomes_never_come_back_and_max_attempts_close_a_contact(any_installation):
    policy = strategy_policy(max_attempts=2, retry_minutes={"no_answer": 1})
    (a1,) = make_agents(any_installation, policy, agents=1, contacts=2)
    sold = _ref(a1)
    outcome(a1, sold, "sale")
    assert contact_of(any_installation, sold).state is ContactState.DONE
    tried = _ref(a1)
    outcome(a1, tried, "no_answer")
    a1.tick(120)
    again = _ref(a1)
    assert contact_of(any_installation, again).id == contact_of(any_installation, tried).id
    outcome(a1, again, "no_answer")
    assert contact_of(any_installation, again).state is ContactState.DONE  # 2 of 2 attempts
    a1.tick(24 * 3600)
    assert a1.next().record is None


def test_outside_calling_hours_and_on_holidays_nothing_is_issued(any_installation):
    policy = strategy_policy(holidays=[date(2026, 12, 1)])
    (a1,) = make_agents(any_installation, policy, agents=1)
    a1.tick(-2 * 3600)  # Monday 08:00 in Warsaw: the windows open at 09:00
    idle = a1.next()
    assert (idle.record, idle.idle_reason, idle.retry_after_s) == (None, IdleReason.OUTSIDE_CALLING_HOURS, 300)
    a1.tick(3600 - 120)  # two minutes before 09:00
    assert a1.next().retry_after_s == 120
    a1.tick(24 * 3600 + 3600)  # Tuesday 1 December 09:58, a holiday
    assert a1.next().idle_reason is IdleReason.OUTSIDE_CALLING_HOURS
    a1.tick(24 * 3600)  # Wednesday 09:58
    assert a1.next().record is not None


def _dialable(inst, shift, lease_id, when):
    with Session(inst.engine) as session:
        contact = contact_of(inst, lease_id)
        ctx = load_context(principal_for(session, user=shift.user(), session_id="s", device_id="d"))
        check_dialable(session, ctx=ctx, contact=contact, now=when)


def test_check_dialable_refuses_outside_hours_after_max_attempts_and_a_dnc_entry_added_while_leased(any_installation):
    inst = any_installation
    (a1,) = make_agents(inst, strategy_policy(max_attempts=3), agents=1)
    lease = _ref(a1)
    _dialable(inst, a1, lease, a1.now)  # fine now
    with pytest.raises(ConflictError) as late:
        _dialable(inst, a1, lease, a1.now + timedelta(hours=11))  # 21:00 in Warsaw
    assert late.value.code is ErrorCode.OUTSIDE_CALLING_HOURS
    with Session(inst.engine) as session:
        session.add(Suppression(phone_bidx=contact_of(inst, lease).phone_bidx))
        session.commit()
    with pytest.raises(ConflictError) as dnc:
        _dialable(inst, a1, lease, a1.now)
    assert dnc.value.code is ErrorCode.DO_NOT_CALL and "+48" not in dnc.value.message
    with Session(inst.engine) as session:
        contact = contact_of(inst, lease)
        contact.attempts = 3
        ctx = load_context(principal_for(session, user=a1.user(), session_id="s", device_id="d"))
        with pytest.raises(ConflictError) as spent:
            session.delete(session.merge(Suppression(id=1, phone_bidx=contact.phone_bidx)))
            session.flush()
            check_dialable(session, ctx=ctx, contact=contact, now=a1.now)
    assert spent.value.code is ErrorCode.MAX_ATTEMPTS


@pytest.mark.parametrize(
    ("minutes", "owed", "message"),
    [
        (None, "me", "needs a time"),
        (-5, "me", "past"),
        (31 * 24 * 60, "me", "at most 30 days"),
        (11 * 60, "anyone", "calling hours"),  # 21:00 in Warsaw
    ],
)
def test_a_callback_outside_its_bounds_is_refused(any_installation, minutes, owed, message):
    (a1,) = make_agents(any_installation, strategy_policy(), agents=1)
    lease = _ref(a1)
    when = None if minutes is None else a1.now + timedelta(minutes=minutes)
    with pytest.raises(ValidationError, match=message):
        outcome(a1, lease, "callback", callback_at=when, callback_for=owed)
    assert contact_of(any_installation, lease).state is ContactState.LEASED  # nothing changed
