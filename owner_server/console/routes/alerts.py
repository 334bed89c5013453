"""Alerts: the list (open or all), one alert with its rule, figures and deliveries, and acknowledging it.

A supervisor sees only alerts about its own organisation's agents (another
one is not found) and neither their campaign nor their delivery channels;
acknowledging is the owner's (the note is stored, the audit entry holds its
hash; :func:`owner_server.audit.alerts.ack_alert`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from owner_server.audit.alerts import MAX_NOTE_CHARS, ack_alert, get_alert_view, list_alerts
from owner_server.console.auth import require
from owner_server.console.i18n import pick_language, translator
from owner_server.console.permissions import Permission, allowed
from owner_server.console.render import render
from owner_server.console.scoping import is_owner_staff, outsourcer_scope
from owner_server.console.state import ConsoleState, console_state
from owner_server.identity.console_sessions import ConsolePrincipal

__all__ = ["router"]

router = APIRouter()

Viewer = Annotated[ConsolePrincipal, Depends(require(Permission.ALERTS_VIEW))]
Acker = Annotated[ConsolePrincipal, Depends(require(Permission.ALERTS_ACK))]
State = Annotated[ConsoleState, Depends(console_state)]

#: Alerts the list shows at most (newest first).
MAX_ROWS = 500


@router.get("/alerts")
def alert_list(request: Request, principal: Viewer, state: State, show: str = "open") -> Response:
    """Open alerts (``show=all``: every alert), newest first."""
    open_only = show != "all"
    with state.transaction() as session:
        rows = list_alerts(session, open_only=open_only, limit=MAX_ROWS, outsourcer_id=outsourcer_scope(principal))
    context = {"rows": rows, "open_only": open_only, "owner": is_owner_staff(principal), "max_rows": MAX_ROWS}
    return render(request, "alerts/list.html", context)


@router.get("/alerts/{ref}")
def alert_page(request: Request, ref: str, principal: Viewer, state: State) -> Response:
    """One alert: the rule, what it did, its figures, its deliveries and its acknowledgement."""
    with state.transaction() as session:
        alert = get_alert_view(session, ref=ref, outsourcer_id=outsourcer_scope(principal))
    if not is_owner_staff(principal):  # the owner's handling of an alert (who, what was done) stays with the owner
        alert = alert.model_copy(update={"acked_by": None, "ack_note": None})
    _ = translator(pick_language(request))
    context = {
        "alert": alert,
        "owner": is_owner_staff(principal),
        "may_ack": allowed(principal.role, Permission.ALERTS_ACK),
        "max_note": MAX_NOTE_CHARS,
        "done": _("Acknowledged.") if request.query_params.get("done") == "acked" else None,
    }
    return render(request, "alerts/detail.html", context)


@router.post("/alerts/{ref}/ack")
def alert_ack(ref: str, principal: Acker, state: State, note: Annotated[str, Form()] = "") -> Response:
    """Acknowledge an open alert with a note (audited)."""
    with state.transaction() as session:
        alert = ack_alert(session, ref=ref, note=note, actor=principal.actor, outsourcer_id=outsourcer_scope(principal))
    return RedirectResponse(f"/alerts/{alert.ref}?done=acked", status_code=303)
