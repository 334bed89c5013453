"""Record distribution: lease the next contact to an agent, one at a time.

The lease and its audit entry are written in one transaction, so no record
ever reaches an agent unaudited. An agent holds at most one open lease (a
partial unique index enforces it even under races); two agents never get the
same contact (row lock with ``SKIP LOCKED`` on PostgreSQL; SQLite writers are
serialised by ``BEGIN IMMEDIATE``). Limits and anomaly rules are checked in
that same transaction, before anything is picked (:mod:`owner_server.work.limits`,
:mod:`owner_server.work.rules`). Contacts are issued in random order within
the campaign (``pick_key``), never in import order, after the contact
strategy's tiers: due callbacks, then due retries, then new contacts
(:func:`_pick_contact`); outside every calling window nothing is issued.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Row,
    Select,
    bindparam,
    exists,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col

from owner_server.audit import log as audit
from owner_server.audit import watermark
from owner_server.core.deferred import DeferredError
from owner_server.identity.login import AgentPrincipal
from owner_server.lists.suppression import is_suppressed_clause
from owner_server.lists.visibility import is_visible, published_bound
from owner_server.models import Contact, ContactState, Lease
from owner_server.models._common import UtcDateTime, utcnow
from owner_server.vault.keys import KeyService
from owner_server.work import claim_sql
from owner_server.work.context import AgentContext, load_context
from owner_server.work.leases import IssuedLease, insert_lease, open_lease_row, reissue_lease, release_lease
from owner_server.work.limits import check_quota, count_issued, quota_view
from owner_server.work.record_view import record_view
from owner_server.work.rules import check_before_issue
from owner_server.work.strategy import MAX_IDLE_RETRY_S, seconds_until_open
from owner_server.work.suspension import lock_agent
from shared.errors import QuotaReachedError
from shared.protocol import IdleReason, NextRecordResponse, RecordView

__all__ = ["EMPTY_RETRY_S", "expire_lease", "next_record", "open_lease"]

#: Seconds an agent waits before asking again when nothing is eligible.
EMPTY_RETRY_S = 30
Bound = BindParameter[Any]
Due = Mapped[datetime | None] | Mapped[int]


def open_lease(
    session: Session, *, user_id: int, actor: str = "system:lease", now: datetime | None = None
) -> Lease | None:
    """The agent's open, unexpired lease, if any.

    An expired lease is closed here (audited ``lease_expired``) and its
    contact goes back to the pool: no agent keeps a record past its lease.
    """
    row = open_lease_row(session, user_id=user_id, actor=actor, now=now or utcnow())
    return None if row is None else session.get(Lease, row.id)


def expire_lease(session: Session, *, lease: Lease, actor: str, now: datetime | None = None) -> None:
    """Close an expired lease and return its contact to the pool (same transaction)."""
    release_lease(session, lease=lease, now=now or utcnow(), actor=actor, action="lease_expired", details={})


def _state_is(state: ContactState) -> ColumnElement[bool]:
    """``contact.state = '<NAME>'`` written inline, never as a bind parameter.

    SQLite uses a partial index only when the query repeats its WHERE terms
    with the same literals (https://sqlite.org/partialindex.html, 3.2), and a
    PostgreSQL generic plan (what a prepared statement settles on) cannot
    prove ``state = $1`` implies the index predicate: with a parameter both
    fall back to ``(campaign_id, state, pick_key)`` and walk every pending
    retry, which grows as the campaign is worked (issue 11).
    """
    return text(f"contact.state = '{state.name}'").bindparams()  # type: ignore[return-value]


def _first(*where: ColumnElement[bool], due: Due) -> Select[Any]:
    """One tier's statement: the first eligible contact matching ``where``, by ``due`` then ``pick_key``; row locked."""
    return (
        select(*claim_sql.CONTACT_COLUMNS)
        .where(*where, col(Contact.attempts) < bindparam("b_max_attempts"), ~is_suppressed_clause())
        .order_by(due, col(Contact.pick_key))
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def _tiers(
    campaign_id: Bound, me: Bound, now: Bound, grace: Bound
) -> tuple[tuple[tuple[ColumnElement[bool], ...], Due], ...]:
    """The strategy's tiers in order (:func:`_pick_contact`): each tier's conditions and its due column."""
    campaign = col(Contact.campaign_id) == campaign_id
    callback = (campaign, _state_is(ContactState.CALLBACK))
    had_it = exists().where(col(Lease.contact_id) == col(Contact.id), col(Lease.user_id) == me)
    fresh = (campaign, _state_is(ContactState.NEW), col(Contact.next_eligible_at).is_(None))
    tiers: tuple[tuple[ColumnElement[bool], ...], ...] = (
        (*callback, col(Contact.callback_user_id) == me, col(Contact.callback_at) <= now),
        (*callback, col(Contact.callback_user_id).is_(None), col(Contact.callback_at) <= now),
        (*callback, col(Contact.callback_user_id) != me, col(Contact.callback_at) <= grace),
        (campaign, _state_is(ContactState.NEW), col(Contact.next_eligible_at) <= now),
        (*fresh, col(Contact.pick_batch) <= published_bound(campaign_id), is_visible(), ~had_it),
    )
    # callbacks and retries earliest due first (their indexes' order): else each pick walks every pending one
    dues: tuple[Due, ...] = (
        *(col(Contact.callback_at),) * 3,
        col(Contact.next_eligible_at),
        col(Contact.pick_batch),  # new contacts: oldest published batch first, read up to the last one published
    )
    return tuple(zip(tiers, dues, strict=True))


@cache
def tier_statements() -> tuple[Select[Any], ...]:
    """The pick's statements, one a tier, built once per process; run with :func:`pick_params`."""
    moment = UtcDateTime()
    campaign_id: Bound = bindparam("b_campaign_id")
    me: Bound = bindparam("b_me")
    now, grace = bindparam("b_now", type_=moment), bindparam("b_grace", type_=moment)
    return tuple(_first(*where, due=due) for where, due in _tiers(campaign_id, me, now, grace))


@cache
def pick_statement() -> CompoundSelect[Any]:
    """The tiers in one round trip: ``UNION ALL`` of each tier's statement (own order, limit, row lock), first row.

    Both databases run the arms in order and stop at the first row: a tier after
    the one that found a contact is not read, and only the contact returned is
    locked (PostgreSQL allows ``FOR UPDATE SKIP LOCKED`` in a sub-select).
    """
    arms = (select(*stmt.subquery(f"tier{n}").c) for n, stmt in enumerate(tier_statements()))
    return union_all(*arms).limit(1)


def pick_params(ctx: AgentContext, now: datetime) -> dict[str, Any]:
    """The values :func:`tier_statements` are run with, for this agent at ``now``."""
    strategy = ctx.policy.strategy
    grace = now - timedelta(minutes=strategy.callback_grace_minutes)
    return {
        "b_campaign_id": ctx.campaign_id,
        "b_me": ctx.user_id,
        "b_now": now,
        "b_grace": grace,
        "b_max_attempts": strategy.max_attempts,
    }


def _pick_contact(session: Session, *, ctx: AgentContext, now: datetime) -> Row[Any] | None:
    """The next contact for this agent, in the strategy's order; random (``pick_key``) among the new ones.

    1. callbacks owed to this agent and due; 2. callbacks for anyone due, and
    callbacks for another agent due more than ``callback_grace_minutes`` ago
    (that agent is away: the pool takes them); 3. retries whose delay passed;
    4. contacts never worked that this agent never had, oldest published
    import batch first. Each tier is an index scan of a partial index
    (``ix_contact_*_pick``); callbacks and retries go earliest due first (then
    ``pick_key``), so no pick walks the pending ones, and new contacts are read
    only up to the campaign's last published batch
    (:func:`owner_server.lists.visibility.published_bound`), so no pick walks
    the rows of an import still running. One statement (:func:`pick_statement`) reads them in order.

    Returns:
        The contact's ``id``, ``ref``, ``payload``, ``data_key_id`` and ``attempts`` (row locked), or None.
    """
    contact: Row[Any] | None = claim_sql.run(session, pick_statement(), pick_params(ctx, now)).first()
    return contact


def _watermark_code(lease: IssuedLease, key: Ed25519PrivateKey | None) -> str | None:
    """The signed code of this issuance (agent, lease, issue time), or None without a key."""
    if key is None:
        return None
    claims = watermark.WatermarkClaims(agent_id=lease.user_id, lease_id=lease.id, issued_at=lease.issued_at)
    return watermark.encode_code(watermark.sign_claims(key, claims))


def _view(
    session: Session,
    *,
    lease: IssuedLease,
    contact: Row[Any],
    ctx: AgentContext,
    keys: KeyService,
    watermark_key: Ed25519PrivateKey | None,
) -> RecordView:
    cipher = keys.cipher_for(session, data_key_id=contact.data_key_id)
    values = cipher.decrypt_fields(contact.ref, contact.payload)
    return record_view(
        ctx.policy,
        values,
        lease_id=lease.id,
        contact_ref=cipher.pseudonym(contact.ref),
        campaign=ctx.campaign_name,
        issued_at=lease.issued_at,
        expires_at=lease.expires_at,
        attempts=contact.attempts,
        watermark_code=_watermark_code(lease, watermark_key),
    )


def _issue(
    session: Session, *, ctx: AgentContext, session_id: str, now: datetime
) -> tuple[IssuedLease, Row[Any]] | None:
    contact = _pick_contact(session, ctx=ctx, now=now)
    if contact is None:
        return None
    lease = insert_lease(
        session, user_id=ctx.user_id, contact_id=contact.id, campaign_id=ctx.campaign_id, session_id=session_id, now=now
    )
    return lease, contact


def next_record(
    session: Session,
    *,
    agent: AgentPrincipal,
    keys: KeyService,
    watermark_key: Ed25519PrivateKey | None = None,
    now: datetime | None = None,
) -> NextRecordResponse:
    """Return the agent's current record, leasing the next eligible one if none is open.

    A new record is issued only within the agent's limits and after the
    anomaly rules let it through, all in this transaction. Every issuance is
    audited (``record_issued``); the open record returned again is audited
    once per session (``record_reissued``), not once per call.

    Args:
        session: The request's transaction.
        agent: The authenticated agent.
        keys: The key service (to decrypt the visible fields).
        watermark_key: The installation's watermark key: the record then carries a signed
            code of agent, lease and issue time (:mod:`owner_server.audit.watermark`); none when None.
        now: The request's time (UTC); the clock when None (tests simulate shifts with it).

    Returns:
        The record (or none, with when to ask again) and the agent's quota.

    Raises:
        NotFoundError: The agent has no campaign.
        QuotaReachedError: The agent reached its hourly or daily limit.
        DeferredError: ``account_suspended`` when a rule suspended the agent in this request.
        ForbiddenError: ``account_suspended`` when another request suspended it since this one authenticated.
    """
    now = now or utcnow()
    lock_agent(session, user_id=agent.user_id)
    ctx = load_context(agent)
    velocity = timedelta(minutes=ctx.policy.rules.velocity.window_minutes)
    open_row = open_lease_row(session, user_id=ctx.user_id, actor=agent.actor, now=now)
    counts = count_issued(session, user_id=ctx.user_id, now=now, zone=ctx.zone, window=velocity)
    if open_row is not None:
        lease, contact, worth_audit = reissue_lease(session, lease=open_row, session_id=agent.session_id)
        action = "record_reissued" if worth_audit else None
    else:
        try:  # the limit first: a request that could issue nothing trips no rule
            check_quota(session, user_id=ctx.user_id, counts=counts, limits=ctx.limits, zone=ctx.zone, now=now)
        except QuotaReachedError as reached:
            raise DeferredError(reached) from None  # an expired lease closed above still commits
        closed_for = seconds_until_open(ctx.policy.strategy, ctx.zone, now)
        if closed_for:  # outside every calling window: nothing is issued, so no rule is tripped either
            return NextRecordResponse(
                record=None,
                retry_after_s=min(closed_for, MAX_IDLE_RETRY_S),
                quota=quota_view(counts, ctx.limits),
                idle_reason=IdleReason.OUTSIDE_CALLING_HOURS,
            )
        check_before_issue(session, ctx=ctx, counts=counts, now=now)
        issued = _issue(session, ctx=ctx, session_id=agent.session_id, now=now)
        if issued is None:
            return NextRecordResponse(
                record=None,
                retry_after_s=EMPTY_RETRY_S,
                quota=quota_view(counts, ctx.limits),
                idle_reason=IdleReason.NO_CONTACTS,
            )
        lease, contact = issued
        counts = replace(counts, hour=counts.hour + 1, day=counts.day + 1)
        action = "record_issued"
    view = _view(session, lease=lease, contact=contact, ctx=ctx, keys=keys, watermark_key=watermark_key)
    if action is not None:
        audit.append(
            session,
            actor=agent.actor,
            action=action,
            object_type="contact",
            object_id=contact.ref,
            details={"lease_id": lease.id, "session_id": agent.session_id, "fields": len(view.fields)},
        )
    return NextRecordResponse(record=view, quota=quota_view(counts, ctx.limits))
