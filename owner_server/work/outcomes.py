"""Dispositions and display events reported by agents."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session

from owner_server.audit import log as audit
from owner_server.identity.login import AgentPrincipal
from owner_server.models import Contact, ContactState, Disposition, Lease
from owner_server.models._common import utcnow
from owner_server.vault.keys import KeyService
from owner_server.work import claim_sql
from owner_server.work.context import AgentContext, load_context
from owner_server.work.distribution import expire_lease
from owner_server.work.outcome_store import (
    ContactMove,
    apply_outcome,
    check_request,
    notes_field,
    reference_time,
    same_outcome,
    superseded,
)
from owner_server.work.rules import EVENT_RULE_KINDS, check_events, check_outcome
from owner_server.work.sequence import note_sequence
from owner_server.work.suspension import lock_agent
from shared.errors import ConflictError, ErrorCode, NotFoundError, RateLimitedError, ValidationError
from shared.limits import LIMITS
from shared.protocol import DisplayEvent, DispositionRequest, DispositionResponse, EventBatch, EventBatchResult
from shared.strategy import CallbackFor

__all__ = ["record_disposition", "record_events"]


def _stored(session: Session, *, user_id: int, outcome_id: str | None) -> Disposition | None:
    if outcome_id is None:
        return None
    found = claim_sql.run(session, claim_sql.STORED_OUTCOME, {"b_user_id": user_id, "b_outcome_id": outcome_id})
    stored_id = found.scalar()
    return None if stored_id is None else session.get(Disposition, stored_id)


def _repeat(
    session: Session, *, stored: Disposition, request: DispositionRequest, keys: KeyService | None
) -> DispositionResponse:
    """The answer to a repeated outcome id: the first answer again, or ``conflict`` if the body differs."""
    contact = session.get(Contact, stored.contact_id)
    cipher = keys.cipher_for(session, data_key_id=contact.data_key_id) if keys and contact and stored.notes else None
    if not same_outcome(stored, request, cipher=cipher, ref=contact.ref if contact else ""):
        raise ConflictError("that outcome id was already used for a different outcome")
    return DispositionResponse(lease_id=stored.lease_id, code=stored.code, closed_at=stored.created_at)


def _expire(session: Session, *, lease_id: str, contact: ContactMove, actor: str, now: datetime) -> None:
    """Close the expired lease an outcome came late for (rare: through the ORM); ``contact`` follows its state."""
    lease = session.get(Lease, lease_id)
    assert lease is not None
    expire_lease(session, lease=lease, actor=actor, now=now)
    released = session.get(Contact, contact.id)  # the identity map's, as release_lease left it
    if released is not None:
        contact.state = released.state


def _store(
    session: Session,
    *,
    request: DispositionRequest,
    lease: Row[Any],
    ctx: AgentContext,
    notes: bytes | None,
    now: datetime,
    late: bool,
) -> None:
    """Insert the outcome row."""
    callback = request.code == ctx.policy.strategy.callback_code
    row = {"lease_id": lease.id, "contact_id": lease.contact_id, "user_id": ctx.user_id, "code": request.code}
    row |= {"created_at": now, "notes": notes, "callback_at": request.callback_at if callback else None}
    row |= {"callback_for": (request.callback_for or CallbackFor.ME).value if request.callback_at else None}
    row |= {"outcome_id": request.outcome_id, "session_seq": request.session_seq, "occurred_at": request.occurred_at}
    row |= {"call_id": request.call_id, "late": late}
    row["no_call_reason"] = request.no_call_reason.value if request.no_call_reason else None
    claim_sql.run(session, claim_sql.INSERT_DISPOSITION, row)


def record_disposition(
    session: Session,
    *,
    agent: AgentPrincipal,
    request: DispositionRequest,
    keys: KeyService | None = None,
    now: datetime | None = None,
) -> DispositionResponse:
    """Close the agent's lease with an outcome; the record can never be fetched again by the agent.

    The outcome counts an attempt and moves the contact on
    (:func:`owner_server.work.outcome_store.apply_outcome`: done, a callback
    or a retry). It is stored and audited (``notes: true/false``, never the
    notes), then the short-handling rule looks at the agent's recent outcomes
    in the same transaction. Idempotent by ``outcome_id``: a repeat stores
    nothing and gets the first answer, even after the lease closed. An outcome
    for the agent's own lease that expired meanwhile (the client was offline)
    is kept, ``late``: it moves the contact only if nobody was issued it since.

    Args:
        session: The request's transaction.
        agent: The authenticated agent.
        request: The lease and the outcome.
        keys: The key service (to encrypt notes; required when the request has notes).
        now: The request's time (UTC); the clock when None.

    Raises:
        NotFoundError: The lease is not this agent's, or already has another outcome (``no_lease``).
        ConflictError: The outcome id was used before with a different body.
        ValidationError: Unknown code, bad notes or callback (:func:`check_request`).
        DeferredError: ``account_suspended`` when the outcome tripped a suspending rule
            (the outcome itself is kept).
        ForbiddenError: ``account_suspended`` when another request suspended the agent since this one authenticated.
    """
    now = now or utcnow()
    user_id = agent.user_id
    lock_agent(session, user_id=user_id)  # the agent's row before its lease, as /next takes them
    lease = claim_sql.run(session, claim_sql.LEASE_FOR_OUTCOME, {"b_lease_id": request.lease_id}).first()
    if lease is None or lease.user_id != user_id:
        raise NotFoundError("no open lease with that id", code=ErrorCode.NO_LEASE)
    stored = _stored(session, user_id=user_id, outcome_id=request.outcome_id)
    if stored is not None:
        return _repeat(session, stored=stored, request=request, keys=keys)
    if lease.has_outcome:
        raise NotFoundError("that record already has an outcome", code=ErrorCode.NO_LEASE)
    ctx = load_context(agent)
    contact = ContactMove.of(lease)
    at = reference_time(request, issued_at=lease.issued_at, now=now)
    check_request(request, ctx=ctx, at=at)
    if request.notes and keys is None:
        raise ValidationError("notes cannot be stored here")
    late = lease.closed_at is not None or lease.expires_at <= now
    if lease.closed_at is None and late:
        _expire(session, lease_id=lease.id, contact=contact, actor=agent.actor, now=now)
    moved = not late or not superseded(session, lease_id=lease.id, issued_at=lease.issued_at, contact=contact)
    if moved:
        apply_outcome(contact, request=request, ctx=ctx, at=at)
        claim_sql.run(session, claim_sql.MOVE_CONTACT, contact.params())
    if lease.closed_at is None and not late:
        claim_sql.run(session, claim_sql.CLOSE_LEASE, {"b_id": lease.id, "b_closed_at": now})
    notes = None
    if request.notes and keys is not None and contact.state is not ContactState.ERASED:  # never notes on an erased one
        cipher = keys.cipher_for(session, data_key_id=contact.data_key_id)
        notes = cipher.encrypt(contact.ref, notes_field(lease.id), request.notes)
    _store(session, request=request, lease=lease, ctx=ctx, notes=notes, now=now, late=late)
    details: dict[str, audit.Detail] = {
        "lease_id": lease.id,
        "code": request.code,
        "session_id": agent.session_id,
        "notes": bool(request.notes),
        "attempts": contact.attempts,
        "state": contact.state.value,
    }
    if late:
        details |= {"late": True, "contact_changed": moved}
    if request.callback_at is not None:
        details |= {"callback_at": request.callback_at.isoformat(), "callback_for": (request.callback_for or "me")}
    if request.no_call_reason is not None:
        details["no_call_reason"] = request.no_call_reason.value
    audit.append(
        session,
        actor=agent.actor,
        action="disposition_recorded",
        object_type="contact",
        object_id=contact.ref,
        details=details,
    )
    if request.session_seq is not None:
        note_sequence(
            session, session_id=agent.session_id, user_id=user_id, actor=agent.actor, seqs=[request.session_seq]
        )
    if not late:
        check_outcome(session, ctx=ctx, handled_s=(now - lease.issued_at).total_seconds(), now=now)
    return DispositionResponse(lease_id=lease.id, code=request.code, closed_at=now)


def _check_event_cap(batch: EventBatch, *, last_hour: int, stored: dict[str, int]) -> None:
    """Refuse a batch that would store more than the per-lease or per-agent-hour number of events.

    Args:
        batch: The incoming events.
        last_hour: The agent's events stored in the last hour.
        stored: The events each of the batch's leases has already.

    Raises:
        RateLimitedError: Too many events for one lease (``LIMITS.max_events_per_lease``)
            or for one agent in the last hour (``LIMITS.max_events_per_agent_hour``): an audit-log flood.
    """
    if last_hour + len(batch.events) > LIMITS.max_events_per_agent_hour:
        raise RateLimitedError("too many events this hour")
    incoming = Counter(e.lease_id for e in batch.events)
    if any(stored.get(lease_id, 0) + n > LIMITS.max_events_per_lease for lease_id, n in incoming.items()):
        raise RateLimitedError("too many events for one record")


def _event_row(agent: AgentPrincipal, event: DisplayEvent, now: datetime) -> dict[str, Any]:
    row = {"user_id": agent.user_id, "event_id": event.event_id, "session_id": agent.session_id}
    row |= {"lease_id": event.lease_id, "kind": event.kind.value, "session_seq": event.session_seq}
    row |= {"duration_ms": event.duration_ms, "detail": event.detail.value if event.detail else None}
    return row | {"occurred_at": event.occurred_at, "received_at": now}


def _event_entry(agent: AgentPrincipal, event: DisplayEvent, contact_ref: str) -> dict[str, Any]:
    """The audit entry of a stored event (:func:`owner_server.audit.log.append_many`)."""
    details: dict[str, audit.Detail] = {
        "lease_id": event.lease_id,
        "event_id": event.event_id,
        "seq": event.session_seq,
        "duration_ms": event.duration_ms,
    }
    if event.detail is not None:
        details["detail"] = event.detail.value
    return {
        "actor": agent.actor,
        "action": event.kind.value,
        "object_type": "contact",
        "object_id": contact_ref,
        "details": details,
    }


def record_events(
    session: Session, *, agent: AgentPrincipal, batch: EventBatch, now: datetime | None = None
) -> EventBatchResult:
    """Store a batch of display events once each (idempotent by client event id).

    Each new event is also audited under its kind (``record_displayed``,
    ``focus_lost``, ``action_blocked``...); a blocked action's name goes into
    the audit details as ``detail``. The rows and their audit entries are
    written with one multi-row insert each.

    The whole batch is refused if any event names a lease that is not the
    agent's, so bad input changes nothing.

    Raises:
        ValidationError: An event names another agent's or an unknown lease,
            happened outside its lease, or an id repeats inside the batch.
        RateLimitedError: The batch would exceed the per-lease or per-agent-hour event cap.
        DeferredError: ``account_suspended`` when the events tripped a suspending rule.
        ForbiddenError: ``account_suspended``: the agent was suspended since it authenticated.
    """
    now = now or utcnow()
    skew = timedelta(seconds=LIMITS.clock_skew_s)
    ids = [e.event_id for e in batch.events]
    if len(set(ids)) != len(ids):
        raise ValidationError("event ids repeat inside the batch")
    lease_ids = sorted({e.lease_id for e in batch.events})
    lock_agent(session, user_id=agent.user_id)  # as /next and outcomes: the event cap and the rules count serially
    params = {"b_lease_ids": lease_ids, "b_user_id": agent.user_id, "b_since": now - timedelta(hours=1)}
    found = claim_sql.run(session, claim_sql.EVENT_LEASES, params).all()
    leases = {le.id: le for le in found}
    if any(le_id not in leases or leases[le_id].user_id != agent.user_id for le_id in lease_ids):
        raise ValidationError("an event names a lease that is not yours")
    for event in batch.events:
        lease = leases[event.lease_id]
        end = min(now, lease.closed_at or lease.expires_at) + skew
        if not lease.issued_at - skew <= event.occurred_at <= end:
            raise ValidationError("an event's time is outside its lease (check the computer's clock)")
    stored_per_lease = {le.id: int(le.events) for le in found}
    _check_event_cap(batch, last_hour=int(found[0].agent_last_hour), stored=stored_per_lease)
    known_params = {"b_user_id": agent.user_id, "b_event_ids": ids}
    known = set(claim_sql.run(session, claim_sql.KNOWN_EVENTS, known_params).scalars())
    new = [e for e in batch.events if e.event_id not in known]
    if new:
        claim_sql.run(session, claim_sql.INSERT_EVENTS, [_event_row(agent, e, now) for e in new])
        audit.append_many(session, [_event_entry(agent, e, leases[e.lease_id].ref) for e in new])
    note_sequence(
        session,
        session_id=agent.session_id,
        user_id=agent.user_id,
        actor=agent.actor,
        seqs=[e.session_seq for e in new],
    )
    stored = {e.kind for e in new}
    if stored & EVENT_RULE_KINDS:
        check_events(session, ctx=load_context(agent), kinds=frozenset(stored), now=now)
    return EventBatchResult(accepted=len(new), duplicates=len(ids) - len(new))
