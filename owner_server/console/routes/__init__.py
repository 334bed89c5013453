"""The console's routes, one module per page; every route has exactly one ``require`` (or is in ``PUBLIC``)."""

from __future__ import annotations

from fastapi import APIRouter

from owner_server.console.routes import agents, alerts, dashboard, session

__all__ = ["PUBLIC", "ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (session.router, dashboard.router, agents.router, alerts.router)

#: Paths served without a login (the login pages themselves, the language switch).
PUBLIC: frozenset[str] = frozenset({"/lang/{code}"})
