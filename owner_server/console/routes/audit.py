"""Audit: the chain head, signed checkpoints and anchors, verification, and the entries newest first.

Verifying reads the whole log (:func:`owner_server.core.datadir.verify_audit`,
what ``custos-server audit verify`` runs) and changes nothing; it is a POST
with the CSRF token because it is heavy, so no link or prefetch can start it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from owner_server.audit.anchor import read_anchors
from owner_server.audit.browse import EntryFilter, browse_entries, chain_head, latest_checkpoints
from owner_server.console.auth import require
from owner_server.console.permissions import Permission
from owner_server.console.render import render
from owner_server.console.state import ConsoleState, console_state
from owner_server.core.datadir import verify_audit
from owner_server.identity.console_sessions import ConsolePrincipal
from shared.errors import ValidationError

__all__ = ["router"]

router = APIRouter()

Auditor = Annotated[ConsolePrincipal, Depends(require(Permission.AUDIT_VIEW))]
State = Annotated[ConsoleState, Depends(console_state)]
Text = Annotated[str, Query(max_length=80)]
#: Anchors shown on the page (the newest; the count is of all).
SHOWN_ANCHORS = 20


def _overview(state: ConsoleState) -> dict[str, object]:
    with state.transaction() as session:
        head = chain_head(session)
        checkpoints = latest_checkpoints(session, limit=10)
    try:
        anchors, anchor_error = read_anchors(state.settings.data_dir), ""
    except ValidationError as exc:
        anchors, anchor_error = [], exc.message
    return {
        "head": head,
        "checkpoints": checkpoints,
        "anchors": list(reversed(anchors))[:SHOWN_ANCHORS],
        "anchor_count": len(anchors),
        "anchor_error": anchor_error,
    }


def _as_query(wanted: EntryFilter) -> dict[str, str]:
    return {
        "action": wanted.action,
        "actor": wanted.actor,
        "object_type": wanted.object_type,
        "object_id": wanted.object_id,
    }


@router.get("/audit")
def audit_page(request: Request, principal: Auditor, state: State) -> Response:
    """The chain head, the latest checkpoints, the anchor file and the verify button."""
    return render(request, "audit/index.html", _overview(state))


@router.post("/audit/verify")
def audit_verify(request: Request, principal: Auditor, state: State) -> Response:
    """Verify the whole log; htmx gets the result fragment, a plain form the page with the result."""
    try:
        result, error = verify_audit(state.settings, state.engine), ""
    except ValidationError as exc:
        result, error = None, exc.message
    context = {"result": result, "verify_error": error}
    if request.headers.get("hx-request") == "true":
        return render(request, "audit/verify_result.html", context)
    return render(request, "audit/index.html", {**_overview(state), **context})


@router.get("/audit/entries")
def audit_entries(
    request: Request,
    principal: Auditor,
    state: State,
    action: Text = "",
    actor: Text = "",
    object_type: Text = "",
    object_id: Text = "",
    before: Annotated[int | None, Query(ge=1)] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """The entries newest first, filtered by action, actor and object; details shown as stored."""
    wanted = EntryFilter(action.strip(), actor.strip(), object_type.strip(), object_id.strip())
    with state.transaction() as session:
        page = browse_entries(session, wanted=wanted, before=before, after=after, limit=limit)
    filters = {k: v for k, v in _as_query(wanted).items() if v}
    return render(request, "audit/entries.html", {"page": page, "wanted": wanted, "filters": filters, "limit": limit})
