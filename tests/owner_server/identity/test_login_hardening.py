"""Login hardening through the real services on SQLite and PostgreSQL, at explicit times (no sleeping).

Lock-out after repeated failures, site networks, one session per agent and
the new-device rule.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, col, func, select

from owner_server.core.db import session_scope
from owner_server.identity import agents, outsourcers
from owner_server.models import AccessToken, AuditEntry, Campaign, Contact, ContactState, Lease, LoginFailure
from owner_server.models._common import utcnow
from owner_server.work import distribution
from shared.errors import AuthError, ErrorCode, ForbiddenError, LockedError
from shared.limits import LIMITS

from ..helpers import DeviceKey, seed
from .agent_support import INSIDE, Agent, actions, alerts, user

WRONG = "wrong password!!"


@pytest.fixture
def agent(any_installation) -> Agent:
    setup = seed(any_installation, agents=("agent1",))
    a = Agent(any_installation, "agent1", setup["agent1"].enrolment_code)
    a.enrol()
    return a


def _failures(inst) -> int:
    with Session(inst.engine) as s:
        return s.exec(select(func.count()).select_from(LoginFailure)).one()


def _set_rules(inst, **rules) -> None:
    with session_scope(inst.engine) as s:
        camp = s.exec(select(Campaign)).one()
        policy = json.loads(camp.policy_json)
        policy["rules"] = {**policy.get("rules", {}), **rules}
        camp.policy_json = json.dumps(policy)
        s.add(camp)


def _last_details(inst, action: str) -> dict:
    with Session(inst.engine) as s:
        entry = s.exec(
            select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.seq).desc())
        ).first()
    assert entry is not None, action
    return json.loads(entry.details)


# --- lock-out ---------------------------------------------------------------------------------------------


def test_lockout_trips_at_the_fifth_failure_not_the_fourth(agent, any_installation):
    inst, t0 = any_installation, utcnow()
    for i in range(4):
        with pytest.raises(AuthError) as failed:
            agent.login(password=WRONG, now=t0 + timedelta(minutes=i))
        assert failed.value.code is ErrorCode.UNAUTHORIZED
    assert user(inst, "agent1").locked_until is None and not alerts(inst, "login_lockout")
    fifth = t0 + timedelta(minutes=4)
    with pytest.raises(AuthError) as failed:  # a wrong device proof counts as well; the answer stays generic
        agent.login(now=fifth, key=DeviceKey())
    assert failed.value.code is ErrorCode.UNAUTHORIZED
    assert user(inst, "agent1").locked_until == fifth + timedelta(seconds=LIMITS.login_lock_s)
    assert actions(inst).count("account_locked") == 1
    [alert] = alerts(inst, "login_lockout")
    assert json.loads(alert.figures)["failures"] == 5 and alert.action == "alert"


def test_locked_account_refuses_correct_credentials_until_the_lock_ends(agent, any_installation):
    inst, t0 = any_installation, utcnow()
    for i in range(5):
        with pytest.raises(AuthError):
            agent.login(password=WRONG, now=t0 + timedelta(seconds=i))
    until = user(inst, "agent1").locked_until
    assert until == t0 + timedelta(seconds=4 + LIMITS.login_lock_s)
    with pytest.raises(LockedError) as locked:
        agent.login(now=t0 + timedelta(minutes=10))
    assert locked.value.code is ErrorCode.ACCOUNT_LOCKED and locked.value.until == until
    # anyone without the agent's device gets the generic answer, right password or not: no oracle
    for kwargs in ({"password": WRONG, "key": DeviceKey()}, {"key": DeviceKey()}):
        with pytest.raises(AuthError):
            agent.login(now=t0 + timedelta(minutes=11), **kwargs)
    with pytest.raises(LockedError):
        agent.login(now=until - timedelta(seconds=1))
    assert user(inst, "agent1").locked_until == until  # failures while locked do not extend it
    response = agent.login(now=until + timedelta(seconds=1))
    assert response.access_token
    assert user(inst, "agent1").locked_until is None and _failures(inst) == 0


def test_failures_outside_the_window_do_not_lock(agent, any_installation):
    inst, t0 = any_installation, utcnow()
    for i in range(4):
        with pytest.raises(AuthError):
            agent.login(password=WRONG, now=t0 + timedelta(seconds=i))
    with pytest.raises(AuthError):  # 16 minutes later the first four no longer count
        agent.login(password=WRONG, now=t0 + timedelta(minutes=16))
    assert user(inst, "agent1").locked_until is None
    assert agent.login(now=t0 + timedelta(minutes=17)).access_token


def test_after_a_lock_the_count_starts_again(agent, any_installation):
    inst, t0 = any_installation, utcnow()
    for i in range(5):
        with pytest.raises(AuthError):
            agent.login(password=WRONG, now=t0 + timedelta(seconds=i))
    until = user(inst, "agent1").locked_until
    with pytest.raises(AuthError):
        agent.login(password=WRONG, now=until + timedelta(seconds=1))
    assert user(inst, "agent1").locked_until == until  # one failure after the lock does not lock again
    assert agent.login(now=until + timedelta(seconds=2)).access_token


def test_unknown_login_records_no_failure(agent, any_installation):
    agent.login_name = "nobody"
    with pytest.raises(AuthError):
        agent.login()
    assert _failures(any_installation) == 0


# --- site networks ----------------------------------------------------------------------------------------


def _networks(inst, *cidrs: str) -> None:
    with session_scope(inst.engine) as s:
        outsourcers.set_networks(s, name="BPO", cidrs=list(cidrs), clear=False, actor="test")


def test_login_records_the_client_address(agent, any_installation):
    response = agent.login(address="192.0.2.44")
    with Session(any_installation.engine) as s:
        row = s.exec(select(AccessToken).where(AccessToken.session_id == response.session_id)).one()
    assert row.address == "192.0.2.44"
    assert _last_details(any_installation, "login")["address"] == "192.0.2.44"


def test_networks_allow_inside_and_refuse_outside_with_one_alert(agent, any_installation):
    inst = any_installation
    _networks(inst, "10.20.0.0/16", "2001:db8::/48")
    assert agent.login(address=INSIDE).access_token
    assert agent.login(address="2001:db8::5").access_token
    assert agent.login(address="::ffff:10.20.3.4").access_token  # an IPv4-mapped address is its IPv4 address
    for _ in range(5):  # a retrying client
        with pytest.raises(ForbiddenError) as refused:
            agent.login(address="198.51.100.9")
        assert refused.value.code is ErrorCode.ADDRESS_NOT_ALLOWED
    [alert] = alerts(inst, "outside_network")
    assert json.loads(alert.figures) == {"address": "198.51.100.9", "where": "login"}
    assert actions(inst).count("login_refused") == 5
    assert _last_details(inst, "login_refused")["reason"] == "address_not_allowed"


def test_wrong_password_from_outside_gets_the_generic_answer(agent, any_installation):
    _networks(any_installation, "10.20.0.0/16")
    with pytest.raises(AuthError):
        agent.login(password=WRONG, address="198.51.100.9")
    assert not alerts(any_installation, "outside_network")


def test_a_token_presented_from_outside_is_refused(agent, any_installation):
    token = agent.login(address=INSIDE).access_token
    _networks(any_installation, "10.20.0.0/16")
    assert agent.authenticate(token, address=INSIDE).address == INSIDE
    for _ in range(3):
        with pytest.raises(ForbiddenError) as refused:
            agent.authenticate(token, address="203.0.113.1")
        assert refused.value.code is ErrorCode.ADDRESS_NOT_ALLOWED
    [alert] = alerts(any_installation, "outside_network")
    assert json.loads(alert.figures)["where"] == "request"


def test_no_networks_means_anywhere(agent):
    assert agent.login(address="203.0.113.1").access_token
    assert agent.login(address="").access_token


# --- one session per agent --------------------------------------------------------------------------------


def test_a_new_login_ends_the_other_sessions_and_alerts(agent, any_installation):
    inst, t0 = any_installation, utcnow()
    first = agent.login(now=t0)
    second = agent.login(now=t0 + timedelta(minutes=1))
    with pytest.raises(AuthError):
        agent.authenticate(first.access_token, now=t0 + timedelta(minutes=2))
    assert agent.authenticate(second.access_token, now=t0 + timedelta(minutes=2)).session_id == second.session_id
    [alert] = alerts(inst, "several_sessions")
    assert alert.action == "alert" and json.loads(alert.figures) == {"live_sessions": 1}
    assert _last_details(inst, "login")["sessions_ended"] == 1
    # after the token expired, a new login is not a second session
    agent.login(now=t0 + timedelta(minutes=1) + timedelta(seconds=LIMITS.token_ttl_s + 1))
    assert len(alerts(inst, "several_sessions")) == 1
    assert _last_details(inst, "login")["sessions_ended"] == 0


def test_several_sessions_can_suspend(agent, any_installation):
    inst = any_installation
    _set_rules(inst, several_sessions={"action": "suspend"})
    first = agent.login()
    principal = agent.authenticate(first.access_token)
    with session_scope(inst.engine) as s:
        record = distribution.next_record(s, agent=principal, keys=inst.keys).record
    assert record is not None
    with pytest.raises(ForbiddenError) as refused:
        agent.login()
    assert refused.value.code is ErrorCode.ACCOUNT_SUSPENDED
    suspended = user(inst, "agent1")
    assert suspended.suspended and suspended.suspended_reason == "several_sessions"
    with Session(inst.engine) as s:
        lease = s.exec(select(Lease)).one()
        assert lease.closed_at is not None
        assert s.get(Contact, lease.contact_id).state is ContactState.NEW
    assert [a.action for a in alerts(inst, "several_sessions")] == ["suspend"]
    with pytest.raises(ForbiddenError) as stopped:  # revoked, and its holder is told why
        agent.authenticate(first.access_token)
    assert stopped.value.code is ErrorCode.ACCOUNT_SUSPENDED


def test_several_sessions_rule_can_be_disabled(agent, any_installation):
    _set_rules(any_installation, several_sessions={"enabled": False})
    first = agent.login()
    agent.login()
    with pytest.raises(AuthError):  # the old session still ends
        agent.authenticate(first.access_token)
    assert not alerts(any_installation, "several_sessions")


# --- new device -------------------------------------------------------------------------------------------


def _second_code(inst) -> str:
    with session_scope(inst.engine) as s:
        return agents.issue_enrolment_code(s, user=agents.get_agent(s, login="agent1"))


def test_enrolling_a_second_device_while_one_is_active_alerts(agent, any_installation):
    inst = any_installation
    assert not alerts(inst, "new_device")
    old_device, old_key = agent.device_id, agent.key
    agent.enrol(code=_second_code(inst), key=DeviceKey())
    [alert] = alerts(inst, "new_device")
    assert alert.action == "alert" and json.loads(alert.figures) == {"previous_active_devices": 1}
    with pytest.raises(AuthError):  # the old device is revoked
        agent.login(device_id=old_device, key=old_key)
    assert agent.login().access_token


def test_re_enrolment_after_revoke_device_is_no_anomaly(agent, any_installation):
    with session_scope(any_installation.engine) as s:
        code = agents.revoke_devices(s, login="agent1", actor="test")
    agent.enrol(code=code, key=DeviceKey())
    assert not alerts(any_installation, "new_device")


def test_new_device_can_suspend(agent, any_installation):
    _set_rules(any_installation, new_device={"action": "suspend"})
    with pytest.raises(ForbiddenError) as refused:
        agent.enrol(code=_second_code(any_installation), key=DeviceKey())
    assert refused.value.code is ErrorCode.ACCOUNT_SUSPENDED
    assert user(any_installation, "agent1").suspended_reason == "new_device"
    assert [a.action for a in alerts(any_installation, "new_device")] == ["suspend"]


# --- red-team regressions --------------------------------------------------------------------------------


def test_failures_while_locked_write_nothing_so_a_login_name_cannot_grow_the_log(agent, any_installation):
    inst, t0 = any_installation, utcnow()
    for i in range(5):
        with pytest.raises(AuthError):
            agent.login(password=WRONG, key=DeviceKey(), now=t0 + timedelta(seconds=i))
    entries_at_lock = len(actions(inst))
    for i in range(50):  # a stranger who knows only the login name keeps trying
        with pytest.raises(AuthError):
            agent.login(password=WRONG, key=DeviceKey(), now=t0 + timedelta(minutes=1, seconds=i))
    assert len(actions(inst)) == entries_at_lock and _failures(inst) == 5


def test_logging_in_again_and_again_raises_one_several_sessions_alert_an_hour(agent, any_installation):
    inst, t0 = any_installation, utcnow()
    for i in range(20):
        agent.login(now=t0 + timedelta(seconds=10 * i))
    assert len(alerts(inst, "several_sessions")) == 1
    agent.login(now=t0 + timedelta(hours=1, minutes=5))
    agent.login(now=t0 + timedelta(hours=1, minutes=6))
    assert len(alerts(inst, "several_sessions")) == 2


def test_expired_login_challenges_are_purged(agent, any_installation):
    from owner_server.core.db import session_scope
    from owner_server.identity.login import issue_nonce, purge_expired_nonces
    from owner_server.models import Device, LoginNonce

    inst, t0 = any_installation, utcnow()
    agent.login(now=t0)
    with session_scope(inst.engine) as s:
        device_id = s.exec(select(Device)).first().id
        for _ in range(5):
            issue_nonce(s, device_id=device_id, now=t0)
    with session_scope(inst.engine) as s:
        assert purge_expired_nonces(s, now=t0 + timedelta(seconds=LIMITS.nonce_ttl_s + 1)) >= 5
    with Session(inst.engine) as s:
        assert s.exec(select(LoginNonce)).all() == []
