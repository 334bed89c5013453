"""Closing a lease early: its contact goes back to the pool, audited under why it closed."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from owner_server.audit import log as audit
from owner_server.models import Contact, ContactState, Lease

__all__ = ["release_lease"]


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
