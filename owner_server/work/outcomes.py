"""Dispositions and display events reported by agents."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from owner_server.audit import log as audit
from owner_server.identity.login import AgentPrincipal
from owner_server.models import Contact, ContactState, DisplayEventRow, Disposition, Lease
from owner_server.models._common import utcnow
from owner_server.vault.keys import KeyService
from owner_server.work.context import load_context
from owner_server.work.distribution import expire_lease
from owner_server.work.outcome_store import (
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
from shared.protocol import DisplayEventKind, DispositionRequest, DispositionResponse, EventBatch, EventBatchResult
from shared.strategy import CallbackFor

__all__ = ["record_disposition", "record_events"]


def _stored(session: Session, *, user_id: int, outcome_id: str | None) -> Disposition | None:
    if outcome_id is None:
        return None
    return session.exec(
        select(Disposition).where(Disposition.user_id == user_id, Disposition.outcome_id == outcome_id)
    ).first()


def _repeat(
    session: Session, *, stored: Disposition, request: DispositionRequest, keys: KeyService | None
) -> DispositionResponse:
    """The answer to a repeated outcome id: the first answer again, or ``conflict`` if the body differs."""
    contact = session.get(Contact, stored.contact_id)
    cipher = keys.cipher_for(session, data_key_id=contact.data_key_id) if keys and contact and stored.notes else None
    if not same_outcome(stored, request, cipher=cipher, ref=contact.ref if contact else ""):
        raise ConflictError("that outcome id was already used for a different outcome")
    return DispositionResponse(lease_id=stored.lease_id, code=stored.code, closed_at=stored.created_at)


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
    assert agent.user.id is not None
    lock_agent(session, user=agent.user)  # the agent's row before its lease, as /next takes them
    lease = session.get(Lease, request.lease_id, with_for_update=True)  # a DNC withdrawal or expiry may race it
    if lease is None or lease.user_id != agent.user.id:
        raise NotFoundError("no open lease with that id", code=ErrorCode.NO_LEASE)
    stored = _stored(session, user_id=agent.user.id, outcome_id=request.outcome_id)
    if stored is not None:
        return _repeat(session, stored=stored, request=request, keys=keys)
    if session.exec(select(Disposition.id).where(Disposition.lease_id == lease.id)).first() is not None:
        raise NotFoundError("that record already has an outcome", code=ErrorCode.NO_LEASE)
    ctx = load_context(session, user=agent.user)
    contact = session.get(Contact, lease.contact_id)
    assert contact is not None and contact.id is not None
    at = reference_time(request, lease=lease, now=now)
    check_request(request, ctx=ctx, at=at)
    if request.notes and keys is None:
        raise ValidationError("notes cannot be stored here")
    late = lease.closed_at is not None or lease.expires_at <= now
    if lease.closed_at is None and late:
        expire_lease(session, lease=lease, actor=agent.actor, now=now)
    moved = not late or not superseded(session, lease=lease, contact=contact)
    if moved:
        apply_outcome(contact, request=request, ctx=ctx, at=at)
        session.add(contact)
    if lease.closed_at is None:
        lease.closed_at = now
        session.add(lease)
    notes = None
    if request.notes and keys is not None and contact.state is not ContactState.ERASED:  # never notes on an erased one
        cipher = keys.cipher_for(session, data_key_id=contact.data_key_id)
        notes = cipher.encrypt(contact.ref, notes_field(lease.id), request.notes)
    session.add(
        Disposition(
            lease_id=lease.id,
            contact_id=contact.id,
            user_id=agent.user.id,
            code=request.code,
            created_at=now,
            notes=notes,
            callback_at=request.callback_at if request.code == ctx.policy.strategy.callback_code else None,
            callback_for=(request.callback_for or CallbackFor.ME).value if request.callback_at else None,
            outcome_id=request.outcome_id,
            session_seq=request.session_seq,
            occurred_at=request.occurred_at,
            call_id=request.call_id,
            no_call_reason=request.no_call_reason.value if request.no_call_reason else None,
            late=late,
        )
    )
    session.flush()
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
            session, session_id=agent.session_id, user_id=agent.user.id, actor=agent.actor, seqs=[request.session_seq]
        )
    if not late:
        check_outcome(session, ctx=ctx, handled_s=(now - lease.issued_at).total_seconds(), now=now)
    return DispositionResponse(lease_id=lease.id, code=request.code, closed_at=now)


def _check_event_cap(session: Session, *, agent: AgentPrincipal, batch: EventBatch, now: datetime) -> None:
    """Refuse a batch that would store more than the per-lease or per-agent-hour number of events.

    Raises:
        RateLimitedError: Too many events for one lease (``LIMITS.max_events_per_lease``)
            or for one agent in the last hour (``LIMITS.max_events_per_agent_hour``): an audit-log flood.
    """
    last_hour = session.exec(
        select(func.count()).where(
            col(DisplayEventRow.user_id) == agent.user.id, col(DisplayEventRow.received_at) > now - timedelta(hours=1)
        )
    ).one()
    if int(last_hour) + len(batch.events) > LIMITS.max_events_per_agent_hour:
        raise RateLimitedError("too many events this hour")
    incoming = Counter(e.lease_id for e in batch.events)
    stored = dict(
        session.exec(
            select(DisplayEventRow.lease_id, func.count())
            .where(col(DisplayEventRow.lease_id).in_(list(incoming)))
            .group_by(col(DisplayEventRow.lease_id))
        ).all()
    )
    if any(stored.get(lease_id, 0) + n > LIMITS.max_events_per_lease for lease_id, n in incoming.items()):
        raise RateLimitedError("too many events for one record")


def record_events(
    session: Session, *, agent: AgentPrincipal, batch: EventBatch, now: datetime | None = None
) -> EventBatchResult:
    """Store a batch of display events once each (idempotent by client event id).

    Each new event is also audited under its kind (``record_displayed``,
    ``focus_lost``, ``action_blocked``...); a blocked action's name goes into
    the audit details as ``detail``.

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
    lease_ids = {e.lease_id for e in batch.events}
    lock_agent(session, user=agent.user)  # as /next and outcomes: the event cap and the rules count serially
    leases = {le.id: le for le in session.exec(select(Lease).where(col(Lease.id).in_(lease_ids))).all()}
    if any(le_id not in leases or leases[le_id].user_id != agent.user.id for le_id in lease_ids):
        raise ValidationError("an event names a lease that is not yours")
    for event in batch.events:
        lease = leases[event.lease_id]
        end = min(now, lease.closed_at or lease.expires_at) + skew
        if not lease.issued_at - skew <= event.occurred_at <= end:
            raise ValidationError("an event's time is outside its lease (check the computer's clock)")
    _check_event_cap(session, agent=agent, batch=batch, now=now)
    known = set(
        session.exec(
            select(DisplayEventRow.event_id).where(
                DisplayEventRow.user_id == agent.user.id, col(DisplayEventRow.event_id).in_(ids)
            )
        ).all()
    )
    assert agent.user.id is not None
    accepted = 0
    stored: set[DisplayEventKind] = set()
    for event in batch.events:
        if event.event_id in known:
            continue
        session.add(
            DisplayEventRow(
                user_id=agent.user.id,
                event_id=event.event_id,
                session_id=agent.session_id,
                lease_id=event.lease_id,
                kind=event.kind.value,
                session_seq=event.session_seq,
                duration_ms=event.duration_ms,
                detail=event.detail.value if event.detail else None,
                occurred_at=event.occurred_at,
                received_at=now,
            )
        )
        contact = session.get(Contact, leases[event.lease_id].contact_id)
        details: dict[str, audit.Detail] = {
            "lease_id": event.lease_id,
            "event_id": event.event_id,
            "seq": event.session_seq,
            "duration_ms": event.duration_ms,
        }
        if event.detail is not None:
            details["detail"] = event.detail.value
        audit.append(
            session,
            actor=agent.actor,
            action=event.kind.value,
            object_type="contact",
            object_id=contact.ref if contact else "",
            details=details,
        )
        accepted += 1
        stored.add(event.kind)
    session.flush()
    note_sequence(
        session,
        session_id=agent.session_id,
        user_id=agent.user.id,
        actor=agent.actor,
        seqs=[e.session_seq for e in batch.events if e.event_id not in known],
    )
    if stored & EVENT_RULE_KINDS:
        check_events(session, ctx=load_context(session, user=agent.user), kinds=frozenset(stored), now=now)
    return EventBatchResult(accepted=accepted, duplicates=len(ids) - accepted)
