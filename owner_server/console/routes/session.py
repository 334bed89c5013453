"""The user's own session: language switch, logout, logout everywhere."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from owner_server.audit import log as audit
from owner_server.console.auth import COOKIE, clear_session_cookie, require
from owner_server.console.errors import safe_next
from owner_server.console.i18n import LANG_COOKIE, LANGUAGES
from owner_server.console.permissions import Permission
from owner_server.console.state import ConsoleState, console_state
from owner_server.identity.console_sessions import (
    ConsolePrincipal,
    end_console_session,
    end_user_console_sessions,
    resolve_console_session,
)

__all__ = ["router"]

router = APIRouter()

Account = Annotated[ConsolePrincipal, Depends(require(Permission.ACCOUNT))]
State = Annotated[ConsoleState, Depends(console_state)]


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/") -> Response:  # noqa: A002 - the query parameter's name
    """Remember the chosen language (``en``/``pl``) in a cookie and go back."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, path="/", secure=True, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, principal: Account, state: State) -> Response:
    """End this browser's session."""
    with state.transaction() as session:
        found = resolve_console_session(session, token=request.cookies.get(COOKIE, ""), touch=False)
        if found is not None:
            end_console_session(session, row=found[0], reason="logout")
        audit.append(
            session, actor=principal.actor, action="console_logout", object_type="user", object_id=principal.user_ref
        )
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.post("/logout-everywhere")
def logout_everywhere(principal: Account, state: State) -> Response:
    """End every console session of this user (every browser)."""
    with state.transaction() as session:
        ended = end_user_console_sessions(session, user_id=principal.user_id, reason="logout_everywhere")
        audit.append(
            session,
            actor=principal.actor,
            action="console_logout_everywhere",
            object_type="user",
            object_id=principal.user_ref,
            details={"sessions": ended},
        )
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response
