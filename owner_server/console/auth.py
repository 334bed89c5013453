"""The one dependency every console route has: who is asking, may they, and did the form come from us.

``require(Permission.X)`` resolves the session cookie, refuses a login that
has not finished its second factor, checks the role's permission
(:mod:`owner_server.console.permissions`) and, for every unsafe method,
the CSRF synchronizer token (form field ``csrf_token`` or header
``X-CSRF-Token``; OWASP CSRF Prevention Cheat Sheet). A route declares
exactly one ``require`` (a test walks every route).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from owner_server.console.permissions import Permission, allowed
from owner_server.console.state import ConsoleState, console_state
from owner_server.identity.console_sessions import ConsolePrincipal, resolve_console_session
from owner_server.models import ConsoleStage
from shared.errors import ForbiddenError

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LoginRequired",
    "Requirement",
    "clear_session_cookie",
    "client_address",
    "require",
    "set_session_cookie",
    "upload_gate",
]

#: The session cookie; ``__Host-`` makes browsers insist on Secure, Path=/ and no Domain (RFC 6265bis 4.1.3.2).
COOKIE = "__Host-custos-console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: Requests the page makes by itself (live dashboard): they do not count as activity for the idle timeout.
POLL_HEADER = "x-custos-poll"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):  # noqa: N818 - a control-flow signal turned into a redirect
    """No live, fully authenticated session: the handler sends the browser to the login page.

    Args:
        second_factor: The password was right and the second factor is due.
    """

    def __init__(self, *, second_factor: bool = False) -> None:
        super().__init__("login required")
        self.second_factor = second_factor


def client_address(request: Request) -> str:
    """The TCP peer's address (forwarding headers are never read)."""
    return request.client.host if request.client is not None else ""


def set_session_cookie(response: Response, token: str) -> None:
    """Set the session cookie: Secure, HttpOnly, SameSite=Strict, host-only, gone when the browser closes.

    No ``Max-Age``: the server ends the session after the idle timeout and its
    maximum length (``identity/console_sessions.py``); a cookie age fixed at
    login would log out someone still working.
    """
    response.set_cookie(
        COOKIE,
        token,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")


async def _csrf_ok(request: Request, expected: str) -> bool:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # parsed once; the route's Form/File parameters reuse it
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())


class Requirement:
    """The dependency ``require(permission)`` returns; callable by FastAPI.

    Attributes:
        permission: What the route does.
    """

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(
        self, request: Request, state: Annotated[ConsoleState, Depends(console_state)]
    ) -> ConsolePrincipal:
        """Resolve and check the requester.

        Raises:
            LoginRequired: No live session, or its second factor is still due.
            ForbiddenError: The role lacks the permission, or an unsafe request has no valid CSRF token.
        """
        token = request.cookies.get(COOKIE, "")
        with state.transaction() as session:
            found = resolve_console_session(session, token=token, touch=POLL_HEADER not in request.headers)
        if found is None:
            raise LoginRequired()
        principal = found[1]
        if principal.stage is not ConsoleStage.ACTIVE:
            raise LoginRequired(second_factor=True)
        request.state.principal = principal
        if not allowed(principal.role, self.permission):
            raise ForbiddenError("your role may not do this")
        if request.method not in _SAFE and not await _csrf_ok(request, principal.csrf_token):
            raise ForbiddenError("the form has expired or did not come from this console; reload the page")
        return principal


def upload_gate(*permissions: Permission) -> Callable[[Scope], Awaitable[bool]]:
    """For :class:`~owner_server.core.body_limit.BodyLimit`: may this request send an upload-sized body?

    Only a live, fully logged-in session whose role holds one of ``permissions``
    may; anyone else gets the small limit, so nobody without the right can make
    the server spool a large body (the route's ``require`` still decides the rest).
    """

    async def gate(scope: Scope) -> bool:
        request = Request(scope)
        token = request.cookies.get(COOKIE, "")
        if not token:
            return False
        state = console_state(request)

        def check() -> bool:
            with state.transaction() as session:
                found = resolve_console_session(session, token=token, touch=False)
            if found is None or found[1].stage is not ConsoleStage.ACTIVE:
                return False
            return any(allowed(found[1].role, p) for p in permissions)

        return await run_in_threadpool(check)

    return gate


def require(permission: Permission) -> Requirement:
    """The dependency of a console route that does ``permission``.

    Use as ``principal: Annotated[ConsolePrincipal, Depends(require(Permission.LOOKUP))]``.
    """
    return Requirement(permission)
