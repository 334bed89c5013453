"""Agent calls (``/api/v1/agent/calls``): dial the leased record, hang up, poll the call's state.

No route takes or returns a number; another agent's call is ``not_found``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from owner_server.api.deps import BearerToken, ClientAddress, StateDep
from owner_server.identity import login as identity
from owner_server.telephony import dialing
from shared.calls import CallRequest, CallView

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/agent/calls", tags=["agent"])
CallId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


@router.post("")
def place_call(body: CallRequest, state: StateDep, token: BearerToken, address: ClientAddress) -> CallView:
    """Dial the agent's open lease: the agent's phone rings first, then the customer's.

    Authenticated as ``/next`` is (:meth:`~owner_server.api.state.ServerState.agent_transaction`): on PostgreSQL
    again under the agent's row lock, so a device revoked while the request waited for it places no call.
    """
    with state.agent_transaction(token=token, address=address) as (session, agent):
        prepared = dialing.prepare_call(session, agent=agent, request=body, keys=state.keys, telephony=state.telephony)
    return dialing.dial(state.engine, prepared=prepared, telephony=state.telephony)


@router.post("/{call_id}/hangup")
def hang_up(call_id: CallId, state: StateDep, token: BearerToken, address: ClientAddress) -> CallView:
    """End both legs of the agent's call."""
    with state.transaction() as session:
        agent = identity.authenticate(session, token=token, address=address)
    return dialing.hang_up(state.engine, agent=agent, call_id=call_id, telephony=state.telephony)


@router.get("/{call_id}")
def get_call(call_id: CallId, state: StateDep, token: BearerToken, address: ClientAddress) -> CallView:
    """The call's state (polled by the client), with the after_answer fields while it is answered."""
    with state.transaction() as session:
        agent = identity.authenticate(session, token=token, address=address)
        return dialing.call_view(session, agent=agent, call_id=call_id, keys=state.keys, telephony=state.telephony)
