"""Console login through the real pages: password, TOTP enrolment, second factor, recovery codes, lock-out."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from fastapi.testclient import TestClient
from sqlmodel import select

from owner_server.console.auth import COOKIE
from owner_server.console.routes.login import LOGIN_COOKIE
from owner_server.core.db import session_scope
from owner_server.identity import console_login, console_users, lockout
from owner_server.identity.admin import add_outsourcer, create_user
from owner_server.identity.console_sessions import resolve_console_session
from owner_server.models import AuditEntry, ConsoleSession, ConsoleStage, LoginFailure, Role, User
from shared.limits import LIMITS

from ..helpers import PASSWORD as AGENT_PASSWORD
from ..helpers import seed

PASSWORD = "console-login-password"
SECRET = re.compile(r'id="totp-secret"[^>]*>([A-Z2-7]+)<')
CODES = re.compile(r"<li>([A-Z2-9]{5}-[A-Z2-9]{5})</li>")


@pytest.fixture
def browser(console_app):
    """A fresh anonymous browser (its own cookie jar)."""
    clients: list[TestClient] = []

    def make() -> TestClient:
        client = TestClient(console_app, base_url="https://testserver")
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _user(installation, login: str = "anna", role: Role = Role.ADMIN) -> None:
    with session_scope(installation.engine) as session:
        create_user(session, login=login, role=role, password=PASSWORD, actor="admin:test")


def _code(secret_text: str, when: float | None = None) -> str:
    secret = base64.b32decode(secret_text + "=" * (-len(secret_text) % 8))
    return TOTP(secret, 6, SHA1(), 30).generate(int(when or time.time())).decode()  # noqa: S303


def _password(client: TestClient, login: str, password: str = PASSWORD, next_path: str = "/"):
    page = client.get("/login", params={"next": next_path})
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token is not None
    data = {"login": login, "password": password, "login_token": token.group(1), "next": next_path}
    return client.post("/login", data=data, follow_redirects=False)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _enrol(client: TestClient, login: str = "anna") -> tuple[str, list[str]]:
    """Password, enrolment page, code from the secret in the page: returns (secret text, recovery codes)."""
    answer = _password(client, login, next_path="/account")
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])  # second-factor page sends an unenrolled user on
    assert page.url.path == "/login/enrol"
    assert "<svg" in page.text and " style=" not in page.text and "<script>" not in page.text
    secret = SECRET.search(page.text)
    assert secret is not None
    done = client.post(
        "/login/enrol",
        data={"code": _code(secret.group(1)), "csrf_token": _csrf(page.text), "next": "/account"},
        follow_redirects=False,
    )
    assert done.status_code == 200
    codes = CODES.findall(done.text)
    assert len(codes) == 10 and "I have saved them" in done.text and 'href="/account"' in done.text
    return secret.group(1), codes


def _second(client: TestClient, code: str):
    page = client.get("/login/second-factor")
    assert page.status_code == 200, page.text
    return client.post(
        "/login/second-factor", data={"code": code, "csrf_token": _csrf(page.text)}, follow_redirects=False
    )


def _actions(installation, action: str) -> list[AuditEntry]:
    with session_scope(installation.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)))


def test_enrolment_then_login_with_totp(installation, browser) -> None:
    _user(installation)
    first = browser()
    before = first.get("/account", follow_redirects=False)
    assert before.status_code == 303
    secret, _codes = _enrol(first)
    account = first.get("/account")
    assert account.status_code == 200 and 'id="account-login">anna<' in account.text
    assert "Recovery codes left" in account.text
    assert _actions(installation, "totp_enrolled") and _actions(installation, "console_login")
    # a second login asks for the code, not for enrolment
    second = browser()
    assert _password(second, "anna").headers["location"] == "/login/second-factor"
    with session_scope(installation.engine) as session:  # as if the enrolment's step had passed
        session.exec(select(User).where(User.login == "anna")).one().totp_last_step = None
    answer = _second(second, _code(secret))
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert second.get("/account").status_code == 200


def test_the_same_code_twice_is_refused(installation, browser) -> None:
    _user(installation)
    secret, _ = _enrol(browser())
    with session_scope(installation.engine) as session:  # the enrolment's own step, even if the clock moved on since
        step = session.exec(select(User).where(User.login == "anna")).one().totp_last_step
    assert step is not None
    used = _code(secret, when=step * 30)
    client = browser()
    _password(client, "anna")
    refused = _second(client, used)
    assert refused.status_code == 401 and "That code is not right (4 tries left)." in refused.text
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_failures_get_one_identical_answer(installation, browser) -> None:
    _user(installation)
    seed(installation, agents=("agent1",))
    answers = [
        _password(browser(), "anna", "wrong password here"),
        _password(browser(), "nobody"),
        _password(browser(), "agent1", AGENT_PASSWORD),
    ]
    with session_scope(installation.engine) as session:
        user = session.exec(select(User).where(User.login == "anna")).one()
        user.suspended = True
    answers.append(_password(browser(), "anna"))
    texts = {re.sub(r'value="[^"]+"', "", a.text) for a in answers}
    assert len(texts) == 1 and {a.status_code for a in answers} == {401}
    assert all(COOKIE not in a.cookies for a in answers)
    reasons = [json.loads(e.details).get("reason") for e in _actions(installation, "console_login_failed")]
    assert reasons == ["wrong_password", "unknown_login", "not_console_user", "suspended"]
    for entry in _actions(installation, "console_login_failed"):
        assert PASSWORD not in str(entry.details) and AGENT_PASSWORD not in str(entry.details)


def test_lockout_is_the_agents_lockout(installation, browser) -> None:
    _user(installation)
    for _ in range(LIMITS.login_failures_max):
        assert _password(browser(), "anna", "wrong password here").status_code == 401
    assert _actions(installation, "account_locked")
    with session_scope(installation.engine) as session:
        user = session.exec(select(User).where(User.login == "anna")).one()
        assert user.locked_until is not None
    locked = _password(browser(), "anna")  # the right password, still locked
    assert locked.status_code == 401 and "Login failed" in locked.text
    with session_scope(installation.engine) as session:
        assert not session.exec(select(ConsoleSession)).all()


def test_console_failures_lock_the_agent_client_too(installation, browser) -> None:
    seed(installation, agents=("agent1",))
    for _ in range(LIMITS.login_failures_max):
        _password(browser(), "agent1", "wrong password here")
    with session_scope(installation.engine) as session:
        agent = session.exec(select(User).where(User.login == "agent1")).one()
        assert lockout.is_locked(agent, datetime.now(UTC))  # the lock the agent API checks
        assert len(session.exec(select(LoginFailure)).all()) == LIMITS.login_failures_max


def test_five_wrong_second_factors_end_the_login(installation, browser) -> None:
    _user(installation)
    _enrol(browser())
    client = browser()
    _password(client, "anna")
    for left in range(console_login.FACTOR_TRIES - 1, 0, -1):
        answer = _second(client, "000000")
        assert answer.status_code == 401 and f"({left} tries left)" in answer.text
    ended = _second(client, "000000")
    assert "Too many wrong codes; log in again." in ended.text
    assert client.get("/login/second-factor", follow_redirects=False).headers["location"] == "/login"
    with session_scope(installation.engine) as session:
        reasons = [r.end_reason for r in session.exec(select(ConsoleSession).order_by(ConsoleSession.id))]
    assert reasons[-1] == "second_factor"


def test_a_recovery_code_works_once(installation, browser) -> None:
    _user(installation)
    _, codes = _enrol(browser())
    client = browser()
    _password(client, "anna")
    used = _second(client, codes[0].lower().replace("-", " "))
    assert used.status_code == 200 and "9 are left" in used.text
    assert client.get("/account").status_code == 200
    [entry] = _actions(installation, "recovery_code_used")
    assert json.loads(entry.details) == {"left": 9}
    again = browser()
    _password(again, "anna")
    assert _second(again, codes[0]).status_code == 401


def test_the_token_before_the_second_factor_is_void_after_it(installation, browser) -> None:
    _user(installation)
    secret, _ = _enrol(browser())
    client = browser()
    _password(client, "anna")
    before = client.cookies.get(COOKIE)
    with session_scope(installation.engine) as session:
        session.exec(select(User).where(User.login == "anna")).one().totp_last_step = None
    assert _second(client, _code(secret)).status_code == 303
    assert client.cookies.get(COOKIE) != before
    stale = TestClient(client.app, base_url="https://testserver")
    stale.cookies.set(COOKIE, before)
    assert stale.get("/account", follow_redirects=False).status_code == 303
    # and a login at the password stage opens no page
    half = browser()
    _password(half, "anna")
    assert half.get("/account", follow_redirects=False).headers["location"] == "/login/second-factor"


def test_second_factor_and_idle_timeouts(installation) -> None:
    _user(installation)
    start = datetime.now(UTC)
    with session_scope(installation.engine) as session:
        token = console_login.check_password(
            session, keys=installation.keys, login="anna", password=PASSWORD, address="127.0.0.1", now=start
        )
    assert token is not None
    with session_scope(installation.engine) as session:
        assert resolve_console_session(session, token=token, now=start + timedelta(minutes=4)) is not None
        assert resolve_console_session(session, token=token, now=start + timedelta(minutes=6)) is None
        assert session.exec(select(ConsoleSession)).one().end_reason == "second_factor_timeout"
    with session_scope(installation.engine) as session:
        user = session.exec(select(User).where(User.login == "anna")).one()
        from owner_server.identity.console_sessions import start_console_session

        active = start_console_session(session, user=user, address="", stage=ConsoleStage.ACTIVE, now=start).token
    with session_scope(installation.engine) as session:
        assert resolve_console_session(session, token=active, now=start + timedelta(minutes=14)) is not None
        assert resolve_console_session(session, token=active, now=start + timedelta(minutes=29, seconds=30)) is None
    with session_scope(installation.engine) as session:
        busy = start_console_session(session, user=user, address="", stage=ConsoleStage.ACTIVE, now=start).token
    moment = start
    with session_scope(installation.engine) as session:
        while moment < start + timedelta(hours=11, minutes=50):  # used every 10 minutes all day
            moment += timedelta(minutes=10)
            assert resolve_console_session(session, token=busy, now=moment) is not None
        assert resolve_console_session(session, token=busy, now=start + timedelta(hours=12, minutes=1)) is None
        ended = session.exec(select(ConsoleSession).where(ConsoleSession.end_reason == "max_length")).all()
        assert len(ended) == 1


def test_suspending_or_resetting_a_console_user_ends_its_sessions(installation, console_as) -> None:
    client = console_as(Role.AUDITOR, login="aud")
    assert client.get("/account").status_code == 200
    with session_scope(installation.engine) as session:
        assert console_users.set_suspended(session, login="aud", suspended=True, reason="left", actor="admin:t") == 1
    assert client.get("/account", follow_redirects=False).status_code == 303
    other = console_as(Role.ADMIN, login="adm")
    with session_scope(installation.engine) as session:
        console_users.reset_console_password(session, login="adm", password=None, actor="admin:t")
    assert other.get("/account", follow_redirects=False).status_code == 303


def test_new_recovery_codes_need_a_current_code(installation, browser) -> None:
    _user(installation)
    secret, old = _enrol(browser())
    client = browser()
    _password(client, "anna")
    _second(client, old[0])
    page = client.get("/account")
    refused = client.post("/account/recovery-codes", data={"code": "123456", "csrf_token": _csrf(page.text)})
    assert refused.status_code == 400 and "That code is not right" in refused.text
    with session_scope(installation.engine) as session:
        session.exec(select(User).where(User.login == "anna")).one().totp_last_step = None
    made = client.post("/account/recovery-codes", data={"code": _code(secret), "csrf_token": _csrf(page.text)})
    new = CODES.findall(made.text)
    assert made.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    assert _actions(installation, "recovery_codes_renewed")
    again = browser()
    _password(again, "anna")
    assert _second(again, old[1]).status_code == 401


def test_forms_without_their_token_are_refused(installation, browser) -> None:
    _user(installation)
    client = browser()
    client.get("/login")
    forged = client.post(
        "/login", data={"login": "anna", "password": PASSWORD, "login_token": "x" * 43}, follow_redirects=False
    )
    assert forged.status_code == 403 and COOKIE not in forged.cookies
    bare = browser()  # no cookie at all (a cross-site form: SameSite=Strict keeps it home)
    no_cookie = bare.post("/login", data={"login": "anna", "password": PASSWORD, "login_token": ""})
    assert no_cookie.status_code == 403
    _password(client, "anna")
    refused = client.post("/login/enrol", data={"code": "123456", "csrf_token": "x"}, follow_redirects=False)
    assert refused.status_code == 403
    page = client.get("/login/enrol")
    assert page.status_code == 200 and LOGIN_COOKIE not in client.cookies


def test_login_pages_are_polish_and_next_stays_on_this_site(installation, browser) -> None:
    _user(installation)
    client = browser()
    client.cookies.set("custos-lang", "pl")
    page = client.get("/login")
    assert "Logowanie do konsoli właściciela" in page.text and 'href="/lang/en' in page.text
    assert _password(client, "anna", next_path="//evil.example/").headers["location"] == "/login/second-factor"


def test_a_supervisor_logs_in_and_sees_its_organisation(installation, browser) -> None:
    with session_scope(installation.engine) as session:
        add_outsourcer(session, name="Acme", actor="admin:test")
        console_users.add_supervisor(session, login="sup", outsourcer="Acme", password=PASSWORD, actor="admin:t")
    client = browser()
    _enrol(client, "sup")
    account = client.get("/account")
    assert "Acme" in account.text and "supervisor" in account.text
