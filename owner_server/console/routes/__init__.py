"""The console's routes, one module per page; every route has exactly one ``require`` (or is in ``PUBLIC``)."""

from __future__ import annotations

from fastapi import APIRouter

from owner_server.console.routes import (
    account,
    agents,
    alerts,
    audit,
    campaigns,
    dashboard,
    imports,
    keys,
    lists,
    login,
    lookup,
    reports,
    session,
)

__all__ = ["PUBLIC", "ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    session.router,
    login.router,
    account.router,
    dashboard.router,
    agents.router,
    alerts.router,
    campaigns.router,
    imports.router,
    lists.router,
    lookup.router,
    reports.router,
    audit.router,
    keys.router,
)

#: Paths served without a login (the login pages themselves, the language switch).
PUBLIC: frozenset[str] = frozenset({"/lang/{code}", "/login", "/login/second-factor", "/login/enrol"})
