"""Keys: the key-encryption key versions and what each wraps; rotation (admins only, confirmed, audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from owner_server.console.auth import require
from owner_server.console.permissions import Permission, allowed
from owner_server.console.render import render
from owner_server.console.state import ConsoleState, console_state
from owner_server.identity.console_sessions import ConsolePrincipal
from owner_server.vault.rotation import key_status, rotate_kek
from shared.errors import ValidationError

__all__ = ["router"]

router = APIRouter()

State = Annotated[ConsoleState, Depends(console_state)]


@router.get("/audit/keys")
def keys_page(
    request: Request,
    principal: Annotated[ConsolePrincipal, Depends(require(Permission.AUDIT_VIEW))],
    state: State,
    rotated: Annotated[int | None, Query(ge=1)] = None,
    rewrapped: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """KEK versions (available, active), live data keys per version, destroyed data keys."""
    with state.transaction() as session:
        status = key_status(session, keys=state.keys)
    context = {
        "status": status,
        "rotated": rotated,
        "rewrapped": rewrapped,
        "can_rotate": allowed(principal.role, Permission.KEYS_ROTATE),
    }
    return render(request, "audit/keys.html", context)


@router.post("/audit/keys/rotate")
def keys_rotate(
    principal: Annotated[ConsolePrincipal, Depends(require(Permission.KEYS_ROTATE))],
    state: State,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Make a new KEK version and rewrap every data key under it (``keys rotate``), audited as the user.

    Raises:
        ValidationError: The confirmation box was not ticked (nothing changes).
        ConflictError: The KEK provider cannot make a new version.
    """
    if confirm != "yes":
        raise ValidationError("Tick the box to confirm the rotation.")
    with state.transaction() as session:
        version, count = rotate_kek(session, keys=state.keys, actor=principal.actor)
    return RedirectResponse(f"/audit/keys?rotated={version}&rewrapped={count}", status_code=303)
