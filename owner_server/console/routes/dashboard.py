"""The dashboard: agents working now by organisation, records per agent in the last hour, open alerts, campaigns.

``GET /`` renders the page; ``GET /dashboard/live`` the part that changes,
which the page polls every 10 s (``data-poll``: console.js marks it
``X-Custos-Poll`` so polling does not keep an idle session alive). Campaign
progress (``GET /dashboard/progress``, owner staff: ``campaigns_view``)
counts every contact, so the page loads it apart and refreshes it every
minute; the page and its frequent poll stay cheap. A supervisor's figures
are its own organisation's, and it is shown no campaign progress.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session
from starlette.responses import Response

from owner_server.audit.alerts import count_open_alerts, list_alerts
from owner_server.audit.live import live_figures
from owner_server.audit.reports import campaign_progress
from owner_server.console.activity_charts import TOP, histogram_chart, top_agents_chart
from owner_server.console.auth import require
from owner_server.console.i18n import pick_language, translator
from owner_server.console.permissions import Permission, allowed
from owner_server.console.render import render
from owner_server.console.scoping import outsourcer_scope
from owner_server.console.state import ConsoleState, console_state
from owner_server.identity.console_sessions import ConsolePrincipal
from owner_server.models._common import utcnow

__all__ = ["POLL_SECONDS", "PROGRESS_SECONDS", "router"]

router = APIRouter()

Viewer = Annotated[ConsolePrincipal, Depends(require(Permission.DASHBOARD))]
OwnerStaff = Annotated[ConsolePrincipal, Depends(require(Permission.CAMPAIGNS_VIEW))]
State = Annotated[ConsoleState, Depends(console_state)]

#: How often the page asks for the live part.
POLL_SECONDS = 10
#: How often the page asks for campaign progress.
PROGRESS_SECONDS = 60
_RECENT_ALERTS = 5


def _live(session: Session, request: Request, principal: ConsolePrincipal) -> dict[str, Any]:
    scope = outsourcer_scope(principal)
    _ = translator(pick_language(request))
    now = utcnow()
    figures = live_figures(session, now=now, outsourcer_id=scope)
    issued = figures.issued
    return {
        "now": now,
        "orgs": figures.organisations,
        "issued_total": sum(issued.values()),
        "agents_with_records": len(issued),
        "top_chart": top_agents_chart(issued, label=_("Records in the last hour")),
        "histogram_chart": histogram_chart([*issued.values(), *[0] * figures.idle], label=_("Agents")),
        "top": TOP,
        "open_alerts": count_open_alerts(session, outsourcer_id=scope),
        "alerts": list_alerts(session, open_only=True, limit=_RECENT_ALERTS, outsourcer_id=scope),
        "poll_seconds": POLL_SECONDS,
    }


@router.get("/")
def dashboard(request: Request, principal: Viewer, state: State) -> Response:
    """The dashboard page (its live part included, then polled)."""
    with state.transaction() as session:
        context = _live(session, request, principal)
    context.update(show_progress=allowed(principal.role, Permission.CAMPAIGNS_VIEW), progress_seconds=PROGRESS_SECONDS)
    return render(request, "dashboard/index.html", context)


@router.get("/dashboard/live")
def dashboard_live(request: Request, principal: Viewer, state: State) -> Response:
    """The live part of the dashboard alone (the page polls it)."""
    with state.transaction() as session:
        context = _live(session, request, principal)
    return render(request, "dashboard/live.html", context)


@router.get("/dashboard/progress")
def dashboard_progress(request: Request, principal: OwnerStaff, state: State) -> Response:
    """Contacts per state of each campaign (new, in progress, done, callbacks), canaries left out."""
    with state.transaction() as session:
        progress = campaign_progress(session)
    context = {"progress": progress, "now": utcnow(), "poll_seconds": PROGRESS_SECONDS}
    return render(request, "dashboard/progress.html", context)
