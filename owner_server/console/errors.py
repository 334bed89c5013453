"""Errors as pages: a clear sentence, never a traceback; login required becomes a redirect."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from owner_server.console.auth import LoginRequired
from owner_server.console.render import render
from shared.errors import STATUS_BY_CODE, CustosError

__all__ = ["install_console_errors", "safe_next"]


def safe_next(target: str | None) -> str:
    """A same-site path to go back to after login (``/`` for anything else: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = "/login/second-factor" if exc.second_factor else "/login?next=" + quote(safe_next(request.url.path))
    if _is_htmx(request):  # htmx follows this header with a full page load
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _error_page(request: Request, status: int, message: str) -> Response:
    template = "error_fragment.html" if _is_htmx(request) else "error.html"
    return render(request, template, {"status": status, "message": message}, status=status)


def _custos_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CustosError)
    return _error_page(request, STATUS_BY_CODE[exc.code], exc.message)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    messages = {404: "There is no such page.", 405: "This page does not take that request."}
    return _error_page(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)))


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = sorted({str(err["loc"][-1]) for err in exc.errors() if err.get("loc")})
    return _error_page(request, 422, "Check these fields: " + ", ".join(fields) if fields else "Check the form.")


def install_console_errors(app: FastAPI) -> None:
    """Register the console's error handlers on ``app``."""
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CustosError, _custos_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
