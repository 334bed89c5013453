"""Lease rows: issued, returned again to their agent, closed early (the contact goes back to the pool, audited).

Issuing and returning are the claim's hot path: prebuilt Core statements
(:mod:`owner_server.work.claim_sql`), nothing loaded into the ORM. Closing early
is rare and goes through the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session

from owner_server.audit import log as audit
from owner_server.models import Contact, ContactState, Lease
from owner_server.models._common import new_ref
from owner_server.work import claim_sql
from shared.errors import NotFoundError
from shared.limits import LIMITS

__all__ = ["IssuedLease", "insert_lease", "open_lease_row", "reissue_lease", "release_lease"]


@dataclass(frozen=True, slots=True)
class IssuedLease:
    """The lease a record is returned under (times UTC)."""

    id: str
    user_id: int
    issued_at: datetime
    expires_at: datetime


def insert_lease(
    session: Session, *, user_id: int, contact_id: int, campaign_id: int, session_id: str, now: datetime
) -> IssuedLease:
    """Lease a (picked, row-locked) contact to an agent for ``LIMITS.lease_ttl_s``: lease row in, contact ``leased``.

    Args:
        session: The issuing transaction.
        user_id: The agent.
        contact_id: The contact.
        campaign_id: Its campaign.
        session_id: The agent's login session (the lease's ``last_session_id``).
        now: The issue time (UTC).

    Returns:
        The new lease.
    """
    lease = IssuedLease(new_ref(), user_id, now, now + timedelta(seconds=LIMITS.lease_ttl_s))
    row = {"id": lease.id, "user_id": user_id, "contact_id": contact_id, "campaign_id": campaign_id}
    row |= {"issued_at": now, "expires_at": lease.expires_at, "closed_at": None}
    claim_sql.run(session, claim_sql.INSERT_LEASE, row | {"last_session_id": session_id, "reissues": 0})
    claim_sql.run(session, claim_sql.SET_CONTACT_STATE, {"b_id": contact_id, "b_state": ContactState.LEASED})
    return lease


def open_lease_row(session: Session, *, user_id: int, actor: str, now: datetime) -> Row[Any] | None:
    """The agent's open, unexpired lease as a row (``claim_sql.OPEN_LEASE``'s columns); an expired one is closed here.

    Closing it is audited ``lease_expired`` and puts its contact back in the pool.
    """
    row: Row[Any] | None = claim_sql.run(session, claim_sql.OPEN_LEASE, {"b_user_id": user_id}).first()
    if row is None or row.expires_at > now:
        return row
    lease = session.get(Lease, row.id)
    assert lease is not None
    release_lease(session, lease=lease, now=now, actor=actor, action="lease_expired", details={})
    return None


def reissue_lease(session: Session, *, lease: Row[Any], session_id: str) -> tuple[IssuedLease, Row[Any], bool]:
    """Return an open lease again: counted, and noted under ``session_id``.

    Args:
        session: The request's transaction.
        lease: The open lease (:func:`open_lease_row`).
        session_id: The asking agent's login session.

    Returns:
        The lease, its contact (``claim_sql.CONTACT_COLUMNS``), and whether this
        return is worth an audit entry (the first in this login session).

    Raises:
        NotFoundError: The leased contact no longer exists.
    """
    contact: Row[Any] | None = claim_sql.run(session, claim_sql.LEASE_CONTACT, {"b_id": lease.contact_id}).first()
    if contact is None:
        raise NotFoundError("the leased contact no longer exists")
    claim_sql.run(session, claim_sql.REISSUE_LEASE, {"b_id": lease.id, "b_session_id": session_id})
    issued = IssuedLease(lease.id, lease.user_id, lease.issued_at, lease.expires_at)
    return issued, contact, lease.last_session_id != session_id


def release_lease(
    session: Session, *, lease: Lease, now: datetime, actor: str, action: str, details: dict[str, audit.Detail]
) -> Contact | None:
    """Close a lease without an outcome and put its contact back in the pool, in the caller's transaction.

    A contact leased as a callback goes back to being that callback (same time and agent).

    Args:
        session: The deciding transaction.
        lease: The open lease.
        now: When it closes (UTC).
        actor: Who closes it.
        action: The audit action, e.g. ``lease_expired`` or ``lease_withdrawn``.
        details: Audit details besides the lease id (no personal data).

    Returns:
        The lease's contact, if it still exists.
    """
    lease.closed_at = now
    contact = session.get(Contact, lease.contact_id)
    if contact is not None and contact.state is ContactState.LEASED:  # a scheduled callback stays one
        contact.state = ContactState.CALLBACK if contact.callback_at is not None else ContactState.NEW
        session.add(contact)
    session.add(lease)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=action,
        object_type="contact",
        object_id=contact.ref if contact else "",
        details={"lease_id": lease.id, **details},
    )
    return contact
