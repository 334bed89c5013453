"""Rendering pages: one autoescaped Jinja2 environment; language, principal and CSRF token in every page."""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import cache
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from owner_server.console.i18n import pick_language, translator
from owner_server.console.nav import nav_items
from owner_server.identity.console_sessions import ConsolePrincipal

__all__ = ["local_zone", "render", "templates"]


def local_zone() -> tzinfo:
    """The time zone pages show times in: the server's local zone."""
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


def _when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC datetime in the server's local zone (empty for None)."""
    if value is None:
        return ""
    return value.astimezone(local_zone()).strftime(fmt)


def _context(request: Request) -> dict[str, Any]:
    lang = pick_language(request)
    principal: ConsolePrincipal | None = getattr(request.state, "principal", None)
    return {
        "_": translator(lang),
        "lang": lang,
        "principal": principal,
        "csrf_token": principal.csrf_token if principal is not None else "",
        "nav": nav_items(principal),
        "path": request.url.path,
    }


@cache
def templates() -> Jinja2Templates:
    """The console's templates (``owner_server/console/templates``), autoescaped."""
    directory = resources.files("owner_server.console").joinpath("templates")
    found = Jinja2Templates(directory=str(directory), context_processors=[_context])
    found.env.filters["when"] = _when
    found.env.globals["zone_name"] = lambda: str(local_zone())
    return found


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200) -> Response:
    """Render template ``name`` with ``context`` (plus language, principal, CSRF token and navigation).

    An ``HX-Request`` (htmx) asking for a fragment gets the template's
    ``fragment`` block when the route passes ``fragment=True`` in context.
    """
    return templates().TemplateResponse(request, name, context or {}, status_code=status)
