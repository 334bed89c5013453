"""Whether a contact may be dialled now (placeholder of part B's contact strategy: DNC and erasure only).

Part B's module replaces this one at merge; the signature is the contract.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from owner_server.models import Contact, ContactState, Suppression
from owner_server.work.context import AgentContext
from shared.errors import ConflictError, ErrorCode

__all__ = ["check_dialable"]


def check_dialable(session: Session, *, ctx: AgentContext, contact: Contact, now: datetime) -> None:
    """Refuse to dial a contact on the DNC list, suppressed or erased.

    Args:
        session: The dialling transaction.
        ctx: The agent's work context.
        contact: The leased contact.
        now: The request's time (UTC).

    Raises:
        ConflictError: ``do_not_call``.
    """
    if contact.state in (ContactState.SUPPRESSED, ContactState.ERASED):
        raise ConflictError("this contact may not be called", code=ErrorCode.DO_NOT_CALL)
    listed = session.exec(select(Suppression.id).where(Suppression.phone_bidx == contact.phone_bidx)).first()
    if listed is not None:
        raise ConflictError("this contact is on the do-not-call list", code=ErrorCode.DO_NOT_CALL)
