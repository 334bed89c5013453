"""Agent API: verify what a customer says against a ``verify_only`` field (``POST /api/v1/agent/verify``)."""

from __future__ import annotations

from fastapi import APIRouter

from owner_server.api.deps import BearerToken, ClientAddress, StateDep
from owner_server.identity import login as identity
from owner_server.work import verification
from shared.calls import VerifyRequest, VerifyResponse

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/agent", tags=["agent"])


@router.post("/verify")
def verify(body: VerifyRequest, state: StateDep, token: BearerToken, address: ClientAddress) -> VerifyResponse:
    """Answer match or no match for the open record's field; the stored value is never sent."""
    with state.transaction() as session:
        agent = identity.authenticate(session, token=token, address=address)
        return verification.verify_field(session, agent=agent, request=body, keys=state.keys)
