"""Dispositions and display events reported by agents."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlmodel import Session, col, func, select

from owner_server.audit import log as audit
from owner_server.core.deferred import DeferredError
from owner_server.identity.login import AgentPrincipal
from owner_server.models import Campaign, Contact, ContactState, DisplayEventRow, Disposition, Lease
from owner_server.models._common import utcnow
from owner_server.work.distribution import expire_lease
from shared.errors import ErrorCode, NotFoundError, RateLimitedError, ValidationError
from shared.limits import LIMITS
from shared.policy import CampaignPolicy
from shared.protocol import DispositionRequest, DispositionResponse, EventBatch, EventBatchResult

__all__ = ["record_disposition", "record_events"]


def record_disposition(session: Session, *, agent: AgentPrincipal, request: DispositionRequest) -> DispositionResponse:
    """Close the agent's lease with an outcome; the record can never be fetched again by the agent.

    Raises:
        NotFoundError: The lease is not this agent's open lease (``no_lease``).
        ValidationError: The code is not one of the campaign's dispositions.
    """
    lease = session.get(Lease, request.lease_id)
    if lease is None or lease.user_id != agent.user.id or lease.closed_at is not None:
        raise NotFoundError("no open lease with that id", code=ErrorCode.NO_LEASE)
    if lease.expires_at <= utcnow():
        expire_lease(session, lease=lease, actor=agent.actor)
        raise DeferredError(
            NotFoundError("the lease expired; the record went back to the pool", code=ErrorCode.NO_LEASE)
        )
    campaign = session.get(Campaign, lease.campaign_id)
    contact = session.get(Contact, lease.contact_id)
    assert campaign is not None and contact is not None and contact.id is not None
    policy = CampaignPolicy.model_validate_json(campaign.policy_json)
    if request.code not in policy.disposition_codes():
        raise ValidationError("that disposition is not offered by the campaign")
    now = utcnow()
    lease.closed_at = now
    contact.state = ContactState.DONE
    contact.attempts += 1
    assert agent.user.id is not None
    session.add_all(
        [
            lease,
            contact,
            Disposition(lease_id=lease.id, contact_id=contact.id, user_id=agent.user.id, code=request.code),
        ]
    )
    session.flush()
    audit.append(
        session,
        actor=agent.actor,
        action="disposition_recorded",
        object_type="contact",
        object_id=contact.ref,
        details={"lease_id": lease.id, "code": request.code},
    )
    return DispositionResponse(lease_id=lease.id, code=request.code, closed_at=now)


def _check_event_cap(session: Session, *, batch: EventBatch) -> None:
    """Refuse a batch that would store more than ``LIMITS.max_events_per_lease`` events for a lease.

    Raises:
        RateLimitedError: Too many events for one lease (an audit-log flood).
    """
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


def record_events(session: Session, *, agent: AgentPrincipal, batch: EventBatch) -> EventBatchResult:
    """Store a batch of display events once each (idempotent by client event id).

    Each new event is also audited under its kind (``record_displayed``,
    ``focus_lost``, ``action_blocked``...); a blocked action's name goes into
    the audit details as ``detail``.

    The whole batch is refused if any event names a lease that is not the
    agent's, so bad input changes nothing.

    Raises:
        ValidationError: An event names another agent's or an unknown lease,
            happened outside its lease, or an id repeats inside the batch.
        RateLimitedError: The batch would exceed the per-lease event cap.
    """
    now = utcnow()
    skew = timedelta(seconds=LIMITS.clock_skew_s)
    ids = [e.event_id for e in batch.events]
    if len(set(ids)) != len(ids):
        raise ValidationError("event ids repeat inside the batch")
    lease_ids = {e.lease_id for e in batch.events}
    leases = {le.id: le for le in session.exec(select(Lease).where(col(Lease.id).in_(lease_ids))).all()}
    if any(le_id not in leases or leases[le_id].user_id != agent.user.id for le_id in lease_ids):
        raise ValidationError("an event names a lease that is not yours")
    for event in batch.events:
        lease = leases[event.lease_id]
        end = min(now, lease.closed_at or lease.expires_at) + skew
        if not lease.issued_at - skew <= event.occurred_at <= end:
            raise ValidationError("an event's time is outside its lease (check the computer's clock)")
    _check_event_cap(session, batch=batch)
    known = set(
        session.exec(
            select(DisplayEventRow.event_id).where(
                DisplayEventRow.user_id == agent.user.id, col(DisplayEventRow.event_id).in_(ids)
            )
        ).all()
    )
    assert agent.user.id is not None
    accepted = 0
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
                received_at=utcnow(),
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
    session.flush()
    return EventBatchResult(accepted=accepted, duplicates=len(ids) - accepted)
