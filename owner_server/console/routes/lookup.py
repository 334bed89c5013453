"""Lookup: every contact of a person and its whole history, with agent, outsourcer, device and address.

The value looked up (a phone number or a customer id) comes in a POST body,
never in a URL, and is never echoed back whole: the page shows it masked
(:data:`shared.policy.MaskRule.LAST4`). The lookup is audited by the service
(:func:`owner_server.audit.lookup.lookup`: the kind and the matched refs,
never the value) with the console user as actor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from owner_server.audit.lookup import LookupKind, lookup
from owner_server.console.auth import require
from owner_server.console.permissions import Permission
from owner_server.console.render import render
from owner_server.console.state import ConsoleState, console_state
from owner_server.identity.console_sessions import ConsolePrincipal
from owner_server.lists.matching import match_contacts
from shared.errors import STATUS_BY_CODE, NotFoundError, ValidationError
from shared.policy import MaskRule, mask_value

__all__ = ["router"]

router = APIRouter()

Looker = Annotated[ConsolePrincipal, Depends(require(Permission.LOOKUP))]
State = Annotated[ConsoleState, Depends(console_state)]
KINDS = (LookupKind.PHONE, LookupKind.CUSTOMER_ID, LookupKind.CONTACT)


def shown_value(kind: LookupKind, value: str) -> str:
    """What the page shows of the value looked up: a contact ref whole, anything else masked (last 4 kept).

    A phone is masked over its digits alone, so ``600 000 002`` shows as ``•••••0002``.
    """
    if kind is LookupKind.CONTACT:
        return value.strip().lower()
    text = re.sub(r"\D", "", value) if kind is LookupKind.PHONE else "".join(value.split())
    return mask_value(text, MaskRule.LAST4)


@dataclass(frozen=True, slots=True)
class _Asked:
    """What the form was filled with, shown again (never the value itself)."""

    kind: LookupKind = LookupKind.PHONE
    campaign: str = ""
    region: str = "PL"


def _form(request: Request, asked: _Asked, *, status: int = 200, **more: object) -> Response:
    context = {"kinds": KINDS, "kind": asked.kind, "campaign": asked.campaign, "region": asked.region, **more}
    return render(request, "lookup/index.html", context, status=status)


@router.get("/lookup")
def lookup_form(request: Request, principal: Looker) -> Response:
    """The lookup form: by phone, customer id or contact ref, optionally in one campaign."""
    return _form(request, _Asked())


@router.post("/lookup")
def lookup_run(
    request: Request,
    principal: Looker,
    state: State,
    value: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[LookupKind, Form()] = LookupKind.PHONE,
    campaign: Annotated[str, Form(max_length=120)] = "",
    region: Annotated[str, Form(max_length=8)] = "PL",
) -> Response:
    """Match the contacts, build their timelines (audited) and show them; bad input is a sentence on the form."""
    asked = _Asked(kind, campaign.strip(), region.strip().upper() or "PL")
    if not value.strip():
        return _form(request, asked, error="Type what to look up.", status=400)
    try:
        match = match_contacts(
            state.engine,
            state.keys,
            phone=value if kind is LookupKind.PHONE else None,
            customer_id=value if kind is LookupKind.CUSTOMER_ID else None,
            contact_ref=value if kind is LookupKind.CONTACT else None,
            campaign=asked.campaign or None,
            region=asked.region,
        )
    except (ValidationError, NotFoundError) as exc:
        return _form(request, asked, error=exc.message, status=STATUS_BY_CODE[exc.code])
    with state.transaction() as session:
        result = lookup(
            session, contact_ids=match.contact_ids, by=match.by, actor=principal.actor, campaign_id=match.campaign_id
        )
    return _form(request, asked, result=result, shown=shown_value(kind, value))
