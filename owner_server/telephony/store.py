"""Stored calls: applying a provider's updates, ending a call, and the agent's view of it.

Every state change is stored; the end is audited (``call_ended``: result,
ring and talk seconds, the hang-up cause; never a number).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from owner_server.audit import log as audit
from owner_server.models import Call, Contact
from owner_server.models._common import utcnow
from owner_server.telephony.provider import CallUpdate
from shared.calls import CallResult, CallState, CallView
from shared.protocol import FieldView

__all__ = ["LIVE_STATES", "apply_update", "end_call", "to_view"]

_ORDER = {s: i for i, s in enumerate(CallState)}
#: States of a call that is not over yet.
LIVE_STATES = tuple(s.value for s in CallState if s is not CallState.ENDED)


def _seconds(start: datetime | None, end: datetime | None) -> int:
    if start is None or end is None:
        return 0
    return max(int((end - start).total_seconds()), 0)


def end_call(
    session: Session, *, call: Call, result: CallResult, at: datetime, cause: int | None = None, actor: str
) -> None:
    """Mark a call ended with its result and durations, audited ``call_ended`` (in the caller's transaction)."""
    if call.state == CallState.ENDED:
        return
    call.state = CallState.ENDED
    call.result = result
    call.cause = cause
    call.ended_at = max(at, call.created_at)
    ring_from = call.agent_answered_at or call.created_at
    call.ring_s = _seconds(ring_from, call.answered_at or call.ended_at)
    call.talk_s = _seconds(call.answered_at, call.ended_at)
    session.add(call)
    contact = session.get(Contact, call.contact_id)
    audit.append(
        session,
        actor=actor,
        action="call_ended",
        object_type="contact",
        object_id=contact.ref if contact is not None else "",
        details={
            "call_id": call.id,
            "lease_id": call.lease_id,
            "result": result.value,
            "ring_s": call.ring_s,
            "talk_s": call.talk_s,
            "cause": cause,
        },
    )


def apply_update(session: Session, *, update: CallUpdate) -> Call | None:
    """Store one provider update; updates that go backwards or arrive after the end change nothing.

    The call's row is locked (PostgreSQL ``FOR UPDATE``), so two processes storing the same step
    store it once, and the end (``call_ended``) is audited once. An end before the customer answered
    is ``cancelled`` when the agent had asked to hang up, whichever process took that request.

    Returns:
        The call, or None when no call has this id.
    """
    call = session.get(Call, update.call_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    if call is None or call.state == CallState.ENDED:
        return call
    if update.agent_channel:
        call.agent_channel = update.agent_channel
    if update.customer_channel:
        call.customer_channel = update.customer_channel
    if update.state is CallState.ENDED:
        result = update.result or CallResult.FAILED
        if call.hangup_requested_at is not None and call.answered_at is None:
            result = CallResult.CANCELLED  # asked through any server process, not only the one following the call
        end_call(
            session,
            call=call,
            result=result,
            at=update.at,
            cause=update.cause,
            actor=f"telephony:{call.provider}",
        )
        return call
    if _ORDER[update.state] > _ORDER[CallState(call.state)]:
        call.state = update.state
        if update.state is CallState.CUSTOMER_RINGING and call.agent_answered_at is None:
            call.agent_answered_at = update.at
        if update.state is CallState.ANSWERED:
            call.agent_answered_at = call.agent_answered_at or update.at
            call.answered_at = update.at
    session.add(call)
    return call


def to_view(call: Call, *, fields: tuple[FieldView, ...] = (), now: datetime | None = None) -> CallView:
    """The agent's view of a call; ``fields`` only while it is answered.

    Durations of a live call run up to ``now``.
    """
    now = now or utcnow()
    state = CallState(call.state)
    ring_s, talk_s = call.ring_s, call.talk_s
    if state is not CallState.ENDED:
        ring_s = _seconds(call.agent_answered_at or call.created_at, call.answered_at or now)
        talk_s = _seconds(call.answered_at, now)
    return CallView(
        call_id=call.id,
        lease_id=call.lease_id,
        state=state,
        result=CallResult(call.result) if call.result else None,
        created_at=call.created_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        ring_s=ring_s,
        talk_s=talk_s,
        fields=fields if state is CallState.ANSWERED else (),
    )
