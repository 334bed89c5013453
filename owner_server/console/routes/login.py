"""The login pages: password, then the TOTP code (or a recovery code), or TOTP enrolment on the first login.

These paths are public (no ``require``: nobody is logged in yet), so each
form carries its own anti-forgery token:

* The password form uses a double-submit token (OWASP CSRF Prevention Cheat
  Sheet): ``GET /login`` sets a random value in a ``__Host-`` cookie
  (Secure, HttpOnly, SameSite=Strict, so another site can neither read, set
  nor send it) and in a hidden field; the post must carry both, equal.
  There is no session yet whose synchronizer token could be used, and
  SameSite alone would leave browsers without it unprotected against login
  forgery.
* The second-factor and enrolment forms use the login's own synchronizer
  token (``ConsoleSession.csrf_token`` of the stage-``password`` session),
  like every other console form.

The services are :mod:`owner_server.identity.console_login`; a finished
login gets a new session token (the one used before the second factor is
void).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from owner_server.console.auth import COOKIE, clear_session_cookie, client_address, set_session_cookie
from owner_server.console.errors import safe_next
from owner_server.console.i18n import Translate, pick_language, translator
from owner_server.console.render import render
from owner_server.console.state import ConsoleState, console_state
from owner_server.identity import console_login
from owner_server.identity.console_sessions import ConsolePrincipal, resolve_console_session
from owner_server.models import ConsoleSession, ConsoleStage

__all__ = ["LOGIN_COOKIE", "LOGIN_FIELD", "router"]

router = APIRouter()

State = Annotated[ConsoleState, Depends(console_state)]
FormText = Annotated[str, Form()]
#: The password form's double-submit cookie and field.
LOGIN_COOKIE = "__Host-custos-login"
LOGIN_FIELD = "login_token"


def _t(request: Request) -> Translate:
    return translator(pick_language(request))


def _password_page(request: Request, *, next_path: str, error: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    context = {"login_token": token, "next": next_path, "error": error}
    response = render(request, "login/password.html", context, status=status)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query parameter's name
    """The password form."""
    return _password_page(request, next_path=safe_next(next))


@router.post("/login")
def login_password(
    request: Request,
    state: State,
    login: FormText = "",
    password: FormText = "",
    login_token: FormText = "",
    next: FormText = "/",  # noqa: A002 - the form field's name
) -> Response:
    """Check login and password (one answer for every failure); a right password leads to the second factor."""
    _ = _t(request)
    next_path = safe_next(next)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(login_token.encode(), expected.encode()):
        message = _("The form has expired or did not come from this console; try again.")
        return _password_page(request, next_path=next_path, error=message, status=403)
    with state.transaction() as session:
        token = console_login.check_password(
            session, keys=state.keys, login=login, password=password, address=client_address(request)
        )
    if token is None:
        failed = _(
            "Login failed. Check the login and password; after repeated failures the account is locked for a while."
        )
        return _password_page(request, next_path=next_path, error=failed, status=401)
    response = RedirectResponse(_with_next("/login/second-factor", next_path), status_code=303)
    set_session_cookie(response, token)
    response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


def _with_next(path: str, next_path: str) -> str:
    return path if next_path == "/" else f"{path}?next={quote(next_path)}"


def _pending(session: Session, request: Request) -> tuple[ConsoleSession, ConsolePrincipal] | None:
    return resolve_console_session(session, token=request.cookies.get(COOKIE, ""))


def _gone(request: Request, next_path: str, message: str) -> Response:
    response = _password_page(request, next_path=next_path, error=message, status=401)
    clear_session_cookie(response)
    return response


def _pending_form(
    session: Session, request: Request, next_path: str
) -> tuple[ConsoleSession, ConsolePrincipal] | Response:
    """The login a second-step form completes, or the answer when there is none (already logged in, or expired)."""
    found = _pending(session, request)
    if found is not None and found[1].stage is ConsoleStage.ACTIVE:
        return RedirectResponse(next_path, status_code=303)  # already logged in (a form sent twice)
    if found is None:
        _ = _t(request)
        return _gone(request, next_path, _("The login has expired; log in again."))
    return found


def _csrf_ok(sent: str, row: ConsoleSession) -> bool:
    return hmac.compare_digest(sent.encode(), row.csrf_token.encode())


@router.get("/login/second-factor")
def second_factor_page(request: Request, state: State, next: str = "/") -> Response:  # noqa: A002
    """The code form (TOTP or recovery code); enrolment instead for a user without TOTP."""
    next_path = safe_next(next)
    with state.transaction() as session:
        found = _pending(session, request)
    if found is None:
        return RedirectResponse(_with_next("/login", next_path), status_code=303)
    row, principal = found
    if principal.stage is ConsoleStage.ACTIVE:
        return RedirectResponse(next_path, status_code=303)
    if not principal.totp_enrolled:
        return RedirectResponse(_with_next("/login/enrol", next_path), status_code=303)
    context = {"form_csrf": row.csrf_token, "next": next_path, "error": ""}
    return render(request, "login/second_factor.html", context)


@router.post("/login/second-factor")
def second_factor(
    request: Request,
    state: State,
    code: FormText = "",
    csrf_token: FormText = "",
    next: FormText = "/",  # noqa: A002 - the form field's name
) -> Response:
    """Check the code; a right one completes the login with a new session token."""
    _ = _t(request)
    next_path = safe_next(next)
    with state.transaction() as session:
        found = _pending_form(session, request, next_path)
        if isinstance(found, Response):
            return found
        row = found[0]
        if not _csrf_ok(csrf_token, row):
            context = {"form_csrf": row.csrf_token, "next": next_path, "error": _("The form has expired; try again.")}
            return render(request, "login/second_factor.html", context, status=403)
        result = console_login.second_factor(
            session, keys=state.keys, row=row, code=code, address=client_address(request)
        )
        csrf = row.csrf_token
    if result.ended:
        return _gone(request, next_path, _("Too many wrong codes; log in again."))
    if result.token is None:
        error = _("That code is not right ({n} tries left).", n=result.tries_left)
        context = {"form_csrf": csrf, "next": next_path, "error": error}
        return render(request, "login/second_factor.html", context, status=401)
    if result.recovery_left is not None:
        response = render(request, "login/recovery_used.html", {"left": result.recovery_left, "next": next_path})
    else:
        response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(response, result.token)
    return response


@router.get("/login/enrol")
def enrol_page(request: Request, state: State, next: str = "/") -> Response:  # noqa: A002
    """First login: the QR code and the secret as text for an authenticator app, and the code field."""
    next_path = safe_next(next)
    with state.transaction() as session:
        found = _pending(session, request)
        if found is None or found[1].stage is not ConsoleStage.PASSWORD:
            return RedirectResponse(_with_next("/login", next_path), status_code=303)
        row, principal = found
        shown = console_login.enrolment(
            session, keys=state.keys, user_id=principal.user_id, issuer=state.settings.organisation
        )
    if shown is None:
        return RedirectResponse(_with_next("/login/second-factor", next_path), status_code=303)
    return render(request, "login/enrol.html", _enrol_context(row, shown, next_path, ""))


def _enrol_context(
    row: ConsoleSession, shown: console_login.Enrolment, next_path: str, error: str
) -> dict[str, object]:
    return {"form_csrf": row.csrf_token, "next": next_path, "error": error, "enrolment": shown}


@router.post("/login/enrol")
def enrol(
    request: Request,
    state: State,
    code: FormText = "",
    csrf_token: FormText = "",
    next: FormText = "/",  # noqa: A002 - the form field's name
) -> Response:
    """Confirm the enrolment with a code from the app; the answer shows the recovery codes, once."""
    _ = _t(request)
    next_path = safe_next(next)
    with state.transaction() as session:
        found = _pending_form(session, request, next_path)
        if isinstance(found, Response):
            return found
        row, principal = found
        issuer = state.settings.organisation
        if not _csrf_ok(csrf_token, row):
            shown = console_login.enrolment(session, keys=state.keys, user_id=principal.user_id, issuer=issuer)
            if shown is None:
                return _gone(request, next_path, _("The login has expired; log in again."))
            context = _enrol_context(row, shown, next_path, _("The form has expired; try again."))
            return render(request, "login/enrol.html", context, status=403)
        result = console_login.confirm_enrolment(
            session, keys=state.keys, row=row, code=code, address=client_address(request)
        )
        shown = None
        if result.token is None and not result.ended:
            shown = console_login.enrolment(session, keys=state.keys, user_id=principal.user_id, issuer=issuer)
    if result.ended or (result.token is None and shown is None):
        return _gone(request, next_path, _("Too many wrong codes; log in again."))
    if result.token is None:
        assert shown is not None
        error = _("That code is not right ({n} tries left).", n=result.tries_left)
        context = _enrol_context(row, shown, next_path, error)
        return render(request, "login/enrol.html", context, status=401)
    response = render(request, "login/codes.html", {"codes": result.recovery_codes, "next": next_path})
    set_session_cookie(response, result.token)
    return response
