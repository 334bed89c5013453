"""Console fixtures: the real console app in process, with users of each role logged in directly.

``console_as(role)`` makes a user of that role (a supervisor belongs to
outsourcer ``Acme``; pass ``outsourcer=`` for another) with a fully
authenticated console session, and returns a TestClient carrying its cookie
and a ``csrf`` attribute for forms. Login itself (password + TOTP) is
tested through the login pages; these fixtures skip it so page tests stay short.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from owner_server.console.app import create_console_app
from owner_server.console.auth import COOKIE
from owner_server.core.db import session_scope
from owner_server.identity.admin import add_outsourcer, create_user
from owner_server.identity.console_sessions import start_console_session
from owner_server.models import ConsoleStage, Outsourcer, Role

PASSWORD = "console-test-password-1"


class ConsoleClient(TestClient):
    """A TestClient logged in to the console; ``csrf`` is the session's CSRF token, ``login`` the user."""

    csrf: str
    login: str

    def post_form(self, url: str, data: dict[str, str] | None = None, **kwargs: object):  # noqa: ANN201
        """POST a form with the CSRF token added."""
        return self.post(url, data={**(data or {}), "csrf_token": self.csrf}, follow_redirects=False, **kwargs)


def _outsourcer(session, name: str) -> Outsourcer:
    found = session.exec(select(Outsourcer).where(Outsourcer.name == name)).first()
    return found or add_outsourcer(session, name=name, actor="admin:test")


def log_in(installation, role: Role, *, login: str | None = None, outsourcer: str = "Acme") -> tuple[str, str, str]:
    """Create a console user of ``role`` with an active session; returns (login, cookie token, csrf token)."""
    login = login or f"{role.value}.{outsourcer.lower()}"
    with session_scope(installation.engine) as session:
        user = create_user(session, login=login, role=role, password=PASSWORD, actor="admin:test")
        if role is Role.SUPERVISOR:
            user.outsourcer_id = _outsourcer(session, outsourcer).id
            session.add(user)
        made = start_console_session(session, user=user, address="127.0.0.1", stage=ConsoleStage.ACTIVE)
        return login, made.token, made.row.csrf_token


@pytest.fixture
def console_app(installation):  # noqa: ANN201
    """The console app over the test installation."""
    return create_console_app(installation.settings, engine=installation.engine, keys=installation.keys)


@pytest.fixture
def console_as(installation, console_app) -> Iterator[Callable[..., ConsoleClient]]:
    """A factory: ``console_as(Role.ADMIN)`` → a logged-in :class:`ConsoleClient`."""
    clients: list[ConsoleClient] = []

    def make(role: Role, *, login: str | None = None, outsourcer: str = "Acme") -> ConsoleClient:
        name, token, csrf = log_in(installation, role, login=login, outsourcer=outsourcer)
        client = ConsoleClient(console_app, base_url="https://testserver")
        client.cookies.set(COOKIE, token)
        client.csrf = csrf
        client.login = name
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def anonymous(console_app) -> Iterator[TestClient]:
    """A console client with no session."""
    with TestClient(console_app, base_url="https://testserver") as client:
        yield client
