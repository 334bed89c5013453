"""A password checked before the login's transaction counts only while the stored hash is the one checked."""

from __future__ import annotations

import pytest
from sqlmodel import select

from owner_server.core.db import session_scope
from owner_server.identity import login as identity
from owner_server.identity.login_password import PasswordCheck, check_password, read_password_hash
from owner_server.identity.passwords import hash_password
from owner_server.models import User
from shared.auth import LoginRequest
from shared.errors import AuthError

from ..helpers import PASSWORD, seed
from .agent_support import INSIDE, Agent

NEW_PASSWORD = "a-new-password-after-reset"  # noqa: S105 - a test password


@pytest.fixture
def agent(any_installation) -> Agent:
    setup = seed(any_installation, agents=("agent1",))
    made = Agent(any_installation, "agent1", setup["agent1"].enrolment_code)
    made.enrol()
    return made


def _login(agent: Agent, password: str, checked: PasswordCheck):
    with agent.state.transaction() as session:
        nonce = identity.issue_nonce(session, device_id=agent.device_id).nonce
    signature = agent.key.sign(agent.login_name, agent.device_id, nonce)
    request = LoginRequest(
        login=agent.login_name, password=password, device_id=agent.device_id, nonce=nonce, signature=signature
    )
    with agent.state.transaction() as session:
        return identity.login(session, request=request, address=INSIDE, checked=checked)


def _stored_hash(inst) -> str | None:
    with session_scope(inst.engine) as session:
        return read_password_hash(session, "agent1")


def test_a_check_made_before_the_transaction_logs_in(agent, any_installation):
    checked = check_password(_stored_hash(any_installation), PASSWORD)
    assert checked.ok
    assert _login(agent, PASSWORD, checked).access_token


def test_the_login_follows_the_check_it_is_given_for_the_current_hash(agent, any_installation):
    refused = PasswordCheck(_stored_hash(any_installation), False)
    with pytest.raises(AuthError):
        _login(agent, PASSWORD, refused)


def test_a_check_of_a_hash_replaced_since_is_made_again(agent, any_installation):
    checked = check_password(_stored_hash(any_installation), PASSWORD)  # then the password is reset
    with session_scope(any_installation.engine) as session:
        user = session.exec(select(User).where(User.login == "agent1")).one()
        user.password_hash = hash_password(NEW_PASSWORD)
        session.add(user)
    with pytest.raises(AuthError):
        _login(agent, PASSWORD, checked)  # the old password, checked ok against the old hash: refused
    assert _login(agent, NEW_PASSWORD, PasswordCheck(checked.encoded, False)).access_token


def test_an_unknown_login_spends_a_dummy_check():
    assert check_password(None, PASSWORD) == PasswordCheck(None, False)
