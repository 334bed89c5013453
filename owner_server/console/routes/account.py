"""The user's own account: who am I, log out everywhere, new recovery codes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from owner_server.console.auth import require
from owner_server.console.i18n import pick_language, translator
from owner_server.console.permissions import Permission
from owner_server.console.render import render
from owner_server.console.state import ConsoleState, console_state
from owner_server.identity.console_sessions import ConsolePrincipal
from owner_server.identity.console_users import renew_recovery_codes
from owner_server.identity.recovery_codes import unused_codes
from owner_server.models import User
from shared.errors import AuthError

__all__ = ["router"]

router = APIRouter()

Account = Annotated[ConsolePrincipal, Depends(require(Permission.ACCOUNT))]
State = Annotated[ConsoleState, Depends(console_state)]


def _account_page(
    request: Request, state: ConsoleState, principal: ConsolePrincipal, *, error: str = "", status: int = 200
) -> Response:
    with state.transaction() as session:
        user = session.get(User, principal.user_id)
        left = unused_codes(session, user_id=principal.user_id)
    enrolled = user.totp_enrolled_at if user is not None else None
    context = {
        "error": error,
        "recovery_left": left,
        "totp_enrolled_at": enrolled,
        "organisation": principal.outsourcer,
    }
    return render(request, "login/account.html", context, status=status)


@router.get("/account")
def account(request: Request, principal: Account, state: State) -> Response:
    """Who is logged in (login, role, organisation), recovery codes left, log out everywhere."""
    return _account_page(request, state, principal)


@router.post("/account/recovery-codes")
def new_recovery_codes(
    request: Request, principal: Account, state: State, code: Annotated[str, Form()] = ""
) -> Response:
    """Replace the recovery codes (a current TOTP code proves the device); the answer shows them once."""
    try:
        with state.transaction() as session:
            codes = renew_recovery_codes(
                session, keys=state.keys, user_id=principal.user_id, code=code, actor=principal.actor
            )
    except AuthError:
        _ = translator(pick_language(request))
        message = _("That code is not right; type the code your authenticator app shows now.")
        return _account_page(request, state, principal, error=message, status=400)
    return render(request, "login/codes.html", {"codes": codes, "next": "/account"})
