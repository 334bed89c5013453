"""Dialling the agent's leased record, hanging up, and the call's state as the agent sees it.

The number never leaves the server: it is decrypted only when the provider
places the customer's leg (:attr:`CallSpec.number`), never logged, never in
an error, never in a response. One live call per agent; a retried request
(same ``request_id``) places no second call. Placing is audited
``call_placed``, the end ``call_ended`` (:mod:`owner_server.telephony.store`),
the first sending of ``after_answer`` fields ``fields_revealed``.

Placing takes two transactions around the provider's request, so the
provider's updates (from its own thread) always find the stored call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from owner_server.audit import log as audit
from owner_server.identity.login import AgentPrincipal
from owner_server.models import Call, Contact, Lease, User
from owner_server.models._common import utcnow
from owner_server.telephony.provider import AgentPhoneUnavailableError, CallSpec, TelephonyUnavailableError
from owner_server.telephony.runtime import Telephony
from owner_server.telephony.store import LIVE_STATES, end_call, to_view
from owner_server.vault.aead import FieldCipher, decode_payload
from owner_server.vault.keys import KeyService
from owner_server.work.context import AgentContext, load_context
from owner_server.work.distribution import open_lease
from owner_server.work.record_view import after_answer_fields, after_answer_names
from owner_server.work.strategy import check_dialable
from owner_server.work.suspension import lock_agent
from shared.calls import CallRequest, CallResult, CallState, CallView
from shared.errors import ConflictError, CustosError, ErrorCode, NotFoundError
from shared.protocol import FieldView

__all__ = ["PreparedCall", "call_view", "dial", "hang_up", "prepare_call"]

#: An answered call older than this is taken as lost (its end was never reported).
MAX_TALK = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class PreparedCall:
    """A stored call ready to dial (``spec``), or an earlier request's call (``spec`` None)."""

    call_id: str
    spec: CallSpec | None


def _number_source(cipher: FieldCipher, ref: str, payload: bytes) -> Callable[[], str]:
    blob = decode_payload(payload).get("phone")

    def number() -> str:
        return cipher.decrypt(ref, "phone", blob) if blob is not None else ""

    return number


def _stale(call: Call, *, telephony: Telephony, now: datetime) -> bool:
    if call.answered_at is not None:
        return now - call.answered_at > MAX_TALK
    ring_budget = telephony.settings.agent_ring_timeout_s + 120 + 60  # agent ring + longest customer ring + slack
    return now - call.created_at > timedelta(seconds=ring_budget)


def _check_no_live_call(session: Session, *, user_id: int, telephony: Telephony, now: datetime) -> None:
    live = session.exec(select(Call).where(Call.user_id == user_id, col(Call.state).in_(LIVE_STATES))).all()
    for call in live:
        if not _stale(call, telephony=telephony, now=now):
            raise ConflictError("a call is already in progress", code=ErrorCode.CALL_IN_PROGRESS)
        end_call(session, call=call, result=CallResult.FAILED, at=now, actor="system:telephony")


def prepare_call(
    session: Session,
    *,
    agent: AgentPrincipal,
    request: CallRequest,
    keys: KeyService,
    telephony: Telephony,
    now: datetime | None = None,
) -> PreparedCall:
    """Check and store a dial request of the agent's open lease (audited ``call_placed``).

    Raises:
        ConflictError: ``no_lease`` (not the agent's open lease), ``call_in_progress``, or the
            strategy's refusal (``do_not_call``, ``outside_calling_hours``, ``max_attempts``).
        TelephonyUnavailableError: No telephony is configured.
        AgentPhoneUnavailableError: No phone endpoint is set for the agent.
    """
    now = now or utcnow()
    ctx = load_context(agent)
    lock_agent(session, user_id=agent.user_id)  # FOR NO KEY UPDATE, as /next and outcomes take it
    earlier = session.exec(
        select(Call).where(Call.user_id == ctx.user_id, Call.request_id == request.request_id)
    ).first()
    if earlier is not None:
        return PreparedCall(call_id=earlier.id, spec=None)
    lease = open_lease(session, user_id=ctx.user_id, actor=agent.actor, now=now)
    if lease is None or lease.id != request.lease_id:
        raise ConflictError("this record is not leased to you", code=ErrorCode.NO_LEASE)
    contact = session.get(Contact, lease.contact_id)
    if contact is None:
        raise NotFoundError("the leased contact no longer exists")
    _check_no_live_call(session, user_id=ctx.user_id, telephony=telephony, now=now)
    check_dialable(session, ctx=ctx, contact=contact, now=now)
    if telephony.name == "none":
        raise TelephonyUnavailableError("no telephony is configured on this server (telephony.toml)")
    endpoint = session.exec(select(User.phone_endpoint).where(col(User.id) == agent.user_id)).one()
    if not endpoint:
        raise AgentPhoneUnavailableError("no phone is set for this agent (custos-server agent set-phone)")
    assert contact.id is not None
    call = Call(
        lease_id=lease.id,
        contact_id=contact.id,
        user_id=ctx.user_id,
        campaign_id=ctx.campaign_id,
        request_id=request.request_id,
        provider=telephony.name,
        state=CallState.DIALING,
        created_at=now,
    )
    session.add(call)
    session.flush()
    audit.append(
        session,
        actor=agent.actor,
        action="call_placed",
        object_type="contact",
        object_id=contact.ref,
        details={"call_id": call.id, "lease_id": lease.id, "provider": telephony.name},
    )
    spec = CallSpec(
        call_id=call.id,
        agent_endpoint=endpoint,
        display_name=ctx.policy.calls.display_name or ctx.campaign_name,
        caller_id=ctx.policy.calls.caller_id,
        agent_ring_timeout_s=telephony.settings.agent_ring_timeout_s,
        customer_ring_timeout_s=ctx.policy.calls.ring_timeout_s,
        number=_number_source(keys.cipher_for(session, data_key_id=contact.data_key_id), contact.ref, contact.payload),
    )
    return PreparedCall(call_id=call.id, spec=spec)


def dial(engine: Engine, *, prepared: PreparedCall, telephony: Telephony) -> CallView:
    """Ask the provider to place a prepared call (outside any transaction) and return its state.

    A refused call is stored as ended (``agent_unavailable`` or ``failed``) and the error raised.

    Raises:
        TelephonyUnavailableError: The provider is unreachable or refused the server's credentials.
        AgentPhoneUnavailableError: The PBX refused the agent's phone.
    """
    if prepared.spec is not None:
        try:
            telephony.originate(prepared.spec)
        except CustosError as refused:
            result = (
                CallResult.AGENT_UNAVAILABLE if isinstance(refused, AgentPhoneUnavailableError) else CallResult.FAILED
            )
            with Session(engine, expire_on_commit=False) as session:
                call = session.get(Call, prepared.call_id)
                if call is not None:
                    end_call(session, call=call, result=result, at=utcnow(), actor="system:telephony")
                session.commit()
            raise
    with Session(engine, expire_on_commit=False) as session:
        call = session.get(Call, prepared.call_id)
        assert call is not None
        return to_view(call)


def _own_call(session: Session, *, agent: AgentPrincipal, call_id: str) -> Call:
    call = session.get(Call, call_id)
    if call is None or call.user_id != agent.user_id:
        raise NotFoundError("no such call")
    return call


def hang_up(engine: Engine, *, agent: AgentPrincipal, call_id: str, telephony: Telephony) -> CallView:
    """End the agent's call (both legs); when the telephony is unreachable the call is ended here.

    Raises:
        NotFoundError: Not one of the agent's calls.
    """
    with Session(engine, expire_on_commit=False) as session:
        call = _own_call(session, agent=agent, call_id=call_id)
        if call.state != CallState.ENDED:
            call.hangup_requested_at = call.hangup_requested_at or utcnow()
            session.add(call)
            session.commit()
    if call.state != CallState.ENDED:
        try:
            telephony.hangup(call_id=call.id)
        except TelephonyUnavailableError:
            with Session(engine, expire_on_commit=False) as session:
                lost = session.get(Call, call.id)
                assert lost is not None
                result = CallResult.COMPLETED if lost.answered_at is not None else CallResult.CANCELLED
                end_call(session, call=lost, result=result, at=utcnow(), actor=agent.actor)
                session.commit()
    with Session(engine, expire_on_commit=False) as session:
        return to_view(_own_call(session, agent=agent, call_id=call_id))


def _after_answer_fields(session: Session, *, ctx: AgentContext, call: Call, keys: KeyService) -> tuple[FieldView, ...]:
    contact = session.get(Contact, call.contact_id)
    if contact is None:
        return ()
    if not after_answer_names(ctx.policy):
        return ()
    values = keys.cipher_for(session, data_key_id=contact.data_key_id).decrypt_fields(contact.ref, contact.payload)
    fields = after_answer_fields(ctx.policy, values)
    if fields and call.fields_revealed_at is None:
        call.fields_revealed_at = utcnow()
        session.add(call)
        audit.append(
            session,
            actor=f"agent:{ctx.user_ref}",
            action="fields_revealed",
            object_type="contact",
            object_id=contact.ref,
            details={"call_id": call.id, "lease_id": call.lease_id, "fields": len(fields)},
        )
    return fields


def call_view(
    session: Session, *, agent: AgentPrincipal, call_id: str, keys: KeyService, telephony: Telephony
) -> CallView:
    """The agent's call as it stands, with the ``after_answer`` fields while it is answered.

    Raises:
        NotFoundError: Not one of the agent's calls.
    """
    now = utcnow()
    call = _own_call(session, agent=agent, call_id=call_id)
    if call.state != CallState.ENDED and _stale(call, telephony=telephony, now=now):
        end_call(session, call=call, result=CallResult.FAILED, at=now, actor="system:telephony")
    fields: tuple[FieldView, ...] = ()
    lease = session.get(Lease, call.lease_id)
    lease_open = lease is not None and lease.closed_at is None and lease.expires_at > now
    if call.state == CallState.ANSWERED and lease_open:  # an outcome, a DNC withdrawal or a suspension ends them
        fields = _after_answer_fields(session, ctx=load_context(agent), call=call, keys=keys)
    return to_view(call, fields=fields, now=now)
