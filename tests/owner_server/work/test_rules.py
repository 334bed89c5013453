"""Anomaly rules on a simulated clock: each trips where it should and not where it should not."""

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from owner_server.models import AccessToken, Alert, AuditEntry, Device, Lease, Outsourcer
from owner_server.models._common import utcnow
from shared.errors import ErrorCode, ForbiddenError
from shared.protocol import BlockedAction, DisplayEventKind

from .containment_support import make_shift, policy, quiet_rules

SUSPEND = {"action": "suspend"}


def alerts(inst):
    with Session(inst.engine) as session:
        return [(a.rule, a.action, json.loads(a.figures)) for a in session.exec(select(Alert).order_by(Alert.id))]


def audit_actions(inst):
    with Session(inst.engine) as session:
        return [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.seq))]


def add_token(inst, user_id):
    """A device and a live token of the agent, as enrolment and login would leave them."""
    with Session(inst.engine) as session:
        session.add(Device(id="device-1", user_id=user_id, public_key=b"k" * 32, name="pc"))
        session.flush()
        expires = utcnow() + timedelta(hours=1)
        session.add(AccessToken(token_hash="t" * 64, user_id=user_id, device_id="device-1", expires_at=expires))
        session.commit()


def test_velocity_suspends_in_the_request_that_trips_it(any_installation):
    rules = quiet_rules(velocity={"max_records": 4, "window_minutes": 10} | SUSPEND)
    shift = make_shift(any_installation, policy(rules=rules))
    for _ in range(4):
        shift.claim(handle_s=20)
    issued_before = len(shift.leases)
    with pytest.raises(ForbiddenError) as refused:
        shift.next()
    assert refused.value.code is ErrorCode.ACCOUNT_SUSPENDED
    assert len(shift.leases) == issued_before  # nothing issued by the tripping request
    user = shift.user()
    assert user.suspended and user.suspended_reason == "velocity"
    assert alerts(any_installation) == [("velocity", "suspend", {"max_records": 4, "records": 5, "window_minutes": 10})]
    actions = audit_actions(any_installation)
    assert actions[-2:] == ["alert_raised", "agent_suspended"]


def test_velocity_does_not_trip_at_a_human_pace(any_installation):
    rules = quiet_rules(velocity={"max_records": 4, "window_minutes": 10} | SUSPEND)
    shift = make_shift(any_installation, policy(rules=rules))
    for _ in range(12):
        shift.claim(handle_s=151)  # 4 in 10 minutes, never 5
    assert not shift.user().suspended and alerts(any_installation) == []


def test_suspension_closes_the_open_lease_and_revokes_every_token(any_installation):
    rules = quiet_rules(blocked_actions={"max_per_hour": 1} | SUSPEND)
    shift = make_shift(any_installation, policy(rules=rules))
    add_token(any_installation, shift.user_id)
    lease_id = shift.next().record.lease_id
    shift.events(lease_id, DisplayEventKind.ACTION_BLOCKED, detail=BlockedAction.COPY)
    with pytest.raises(ForbiddenError):
        shift.events(lease_id, DisplayEventKind.ACTION_BLOCKED, detail=BlockedAction.PRINT)
    with Session(any_installation.engine) as session:
        assert session.get(Lease, lease_id).closed_at is not None
        assert all(t.revoked for t in session.exec(select(AccessToken)))
        withdrawn = session.exec(select(AuditEntry).where(AuditEntry.action == "lease_withdrawn")).one()
        assert json.loads(withdrawn.details)["lease_id"] == lease_id


def test_velocity_with_alert_action_alerts_once_and_keeps_issuing(any_installation):
    rules = quiet_rules(velocity={"max_records": 2, "window_minutes": 10, "action": "alert"})
    shift = make_shift(any_installation, policy(rules=rules))
    for _ in range(5):
        shift.claim(handle_s=10)
    assert [a[0] for a in alerts(any_installation)] == ["velocity"]
    assert not shift.user().suspended and len(shift.leases) == 5


@pytest.mark.parametrize(("handle_s", "tripped"), [(2, True), (14, True), (16, False), (90, False)])
def test_short_handling_median(any_installation, handle_s, tripped):
    rules = quiet_rules(short_handling={"records": 3, "min_median_s": 15} | SUSPEND)
    shift = make_shift(any_installation, policy(rules=rules))
    shift.claim(handle_s=handle_s)
    shift.claim(handle_s=handle_s)
    if tripped:
        with pytest.raises(ForbiddenError):
            shift.claim(handle_s=handle_s)
        assert shift.user().suspended
        ((rule, action, figures),) = alerts(any_installation)
        assert (rule, action, figures["records"], figures["median_s"]) == ("short_handling", "suspend", 3, handle_s)
    else:
        shift.claim(handle_s=handle_s)
        shift.claim(handle_s=handle_s)
        assert not shift.user().suspended and alerts(any_installation) == []


def test_short_handling_needs_enough_outcomes(any_installation):
    rules = quiet_rules(short_handling={"records": 5, "min_median_s": 15} | SUSPEND)
    shift = make_shift(any_installation, policy(rules=rules))
    for _ in range(4):
        shift.claim(handle_s=1)
    assert not shift.user().suspended
    with pytest.raises(ForbiddenError):
        shift.claim(handle_s=1)


@pytest.mark.parametrize(
    ("hour_utc", "weekday_offset", "tripped"),
    [(7, 0, False), (19, 0, False), (20, 0, True), (5, 0, True), (10, 6, True)],  # 08:00, 20:00, 21:00, 06:00, Sun
)
def test_outside_the_campaigns_hours_alerts(any_installation, hour_utc, weekday_offset, tripped):
    shift = make_shift(any_installation, policy(rules=quiet_rules(hours={"start": "08:00", "end": "21:00"})))
    shift.now = shift.now.replace(hour=hour_utc) + timedelta(days=weekday_offset)
    assert shift.next().record is not None  # alert only: the record is still issued
    assert [a[0] for a in alerts(any_installation)] == (["outside_hours"] if tripped else [])


def test_outside_the_outsourcers_shift_alerts_once_an_hour(any_installation):
    shift = make_shift(any_installation, policy(rules=quiet_rules(hours={})))
    with Session(any_installation.engine) as session:
        org = session.exec(select(Outsourcer)).one()
        org.shift_start, org.shift_end = "08:00", "12:00"
        session.add(org)
        session.commit()
    shift.claim()  # 08:00 local: inside
    shift.now = shift.now.replace(hour=12)  # 13:00 local
    shift.claim()
    shift.claim()
    found = alerts(any_installation)
    assert [a[0] for a in found] == ["outside_hours"] and found[0][2]["shift"] == "08:00-12:00"


@pytest.mark.parametrize(("attempts", "tripped"), [(5, False), (6, True)])
def test_blocked_actions_per_hour(any_installation, attempts, tripped):
    shift = make_shift(any_installation, policy(rules=quiet_rules(blocked_actions={"max_per_hour": 5})))
    lease_id = shift.next().record.lease_id
    for _ in range(attempts):
        shift.events(lease_id, DisplayEventKind.ACTION_BLOCKED, detail=BlockedAction.CAPTURE)
    assert [a[0] for a in alerts(any_installation)] == (["blocked_actions"] if tripped else [])


def test_blocked_actions_older_than_an_hour_do_not_count(any_installation):
    shift = make_shift(any_installation, policy(rules=quiet_rules(blocked_actions={"max_per_hour": 2})))
    for _ in range(3):
        lease_id = shift.next().record.lease_id
        shift.events(lease_id, DisplayEventKind.ACTION_BLOCKED, detail=BlockedAction.COPY)
        shift.dispose(lease_id)
        shift.tick(31 * 60)
    assert alerts(any_installation) == []


@pytest.mark.parametrize(("lost_in", "tripped"), [(1, False), (2, True), (3, True)])
def test_focus_lost_during_most_displays(any_installation, lost_in, tripped):
    shift = make_shift(any_installation, policy(rules=quiet_rules(focus_loss={"displays": 3, "max_share": 0.5})))
    for n in range(3):
        lease_id = shift.next().record.lease_id
        kinds = [DisplayEventKind.RECORD_DISPLAYED]
        if n < lost_in:
            kinds += [DisplayEventKind.FOCUS_LOST, DisplayEventKind.FOCUS_REGAINED]
        shift.events(lease_id, *kinds)
        shift.tick(60)
        shift.dispose(lease_id)
    assert [a[0] for a in alerts(any_installation)] == (["focus_loss"] if tripped else [])


def test_reissue_is_audited_once_per_session(any_installation):
    shift = make_shift(any_installation, policy(rules=quiet_rules()))
    lease_id = shift.next().record.lease_id
    for _ in range(20):
        assert shift.next().record.lease_id == lease_id
    shift.session_id = "session-2"  # the agent logged in again
    for _ in range(5):
        shift.next()
    actions = audit_actions(any_installation)
    assert actions.count("record_issued") == 1 and actions.count("record_reissued") == 1
    with Session(any_installation.engine) as session:
        assert session.get(Lease, lease_id).reissues == 25


def test_issue_order_is_random_not_import_order(any_installation):
    shift = make_shift(any_installation, policy(limits={"per_hour": 100}, rules=quiet_rules()), contacts=60)
    for _ in range(40):
        shift.claim(handle_s=30)
    with Session(any_installation.engine) as session:
        from owner_server.models import Contact

        order = [
            session.get(Contact, lease.contact_id).source_record
            for lease in session.exec(select(Lease).order_by(col(Lease.issued_at)))
        ]
    ascending = sum(b > a for a, b in zip(order, order[1:], strict=False))
    assert 8 < ascending < 31  # a sorted order gives 39; random gives ~19.5 (sd ~1.8)


def test_the_wire_contact_ref_is_a_pseudonym_not_the_time_ordered_stored_ref(any_installation):
    shift = make_shift(any_installation, policy(limits={"per_hour": 100}, rules=quiet_rules()), contacts=30)
    wire = []
    for _ in range(20):
        record = shift.next().record
        wire.append(record.contact_ref)
        shift.tick(30)
        shift.dispose(record.lease_id)
    with Session(any_installation.engine) as session:
        from owner_server.models import Contact

        stored = {c.ref for c in session.exec(select(Contact))}
    assert not set(wire) & stored and len(set(wire)) == 20
    assert all(len(ref) == 32 and int(ref, 16) >= 0 for ref in wire)
    assert wire != sorted(wire)


def test_a_request_refused_by_the_limit_trips_no_rule(any_installation):
    rules = quiet_rules(velocity={"max_records": 5, "window_minutes": 60} | SUSPEND)
    shift = make_shift(any_installation, policy(limits={"per_hour": 5}, rules=rules))
    for _ in range(5):
        shift.claim(handle_s=60)
    from shared.errors import QuotaReachedError

    for _ in range(3):
        with pytest.raises(QuotaReachedError):
            shift.next()  # could issue nothing: the limit answers, velocity does not suspend
    assert not shift.user().suspended and alerts(any_installation) == []


def test_events_of_an_agent_suspended_since_it_authenticated_are_refused(any_installation):
    """Issue 11: display events take the agent's lock and re-read it, as /next and outcomes do."""
    from owner_server.identity.bearer import principal_for
    from owner_server.models import DisplayEventRow, User
    from owner_server.work import outcomes
    from shared.protocol import DisplayEvent, EventBatch

    shift = make_shift(any_installation, policy(rules=quiet_rules()))
    lease_id = shift.next().record.lease_id
    event = DisplayEvent(
        event_id="e" * 32,
        kind=DisplayEventKind.RECORD_DISPLAYED,
        lease_id=lease_id,
        session_seq=1,
        occurred_at=shift.now,
    )
    with Session(any_installation.engine, expire_on_commit=False) as request:  # authenticated: the agent as it was
        agent = principal_for(request, user=request.get(User, shift.user_id), session_id="s", device_id="device-1")
        request.commit()  # the read transaction of the token check ends (SQLite: before the write lock)
        with Session(any_installation.engine) as admin:  # meanwhile another request suspends it
            admin.get(User, shift.user_id).suspended = True
            admin.commit()
        with pytest.raises(ForbiddenError) as refused:
            outcomes.record_events(request, agent=agent, batch=EventBatch(events=(event,)), now=shift.now)
        assert refused.value.code is ErrorCode.ACCOUNT_SUSPENDED
    with Session(any_installation.engine) as session:
        assert session.exec(select(DisplayEventRow)).all() == []
