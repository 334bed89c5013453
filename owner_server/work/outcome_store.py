"""What an outcome does to its contact, and how it is stored: notes encrypted, callbacks checked, ids compared."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from owner_server.models import ContactState, Disposition, Lease
from owner_server.vault.aead import FieldCipher
from owner_server.work.context import AgentContext
from owner_server.work.strategy import in_window
from shared.errors import ValidationError
from shared.limits import LIMITS
from shared.phone_text import contains_phone_number
from shared.protocol import DispositionRequest
from shared.strategy import CallbackFor

__all__ = [
    "ContactMove",
    "apply_outcome",
    "check_request",
    "notes_field",
    "reference_time",
    "same_outcome",
    "superseded",
]


def notes_field(lease_id: str) -> str:
    """The field name bound into a note's associated data: the note belongs to this contact and this lease."""
    return f"_disposition_notes|{lease_id}"


@dataclass(slots=True)
class ContactMove:
    """What an outcome reads and changes of its contact (written back with ``claim_sql.MOVE_CONTACT``)."""

    id: int
    ref: str
    data_key_id: int
    state: ContactState
    attempts: int
    callback_at: datetime | None
    callback_user_id: int | None
    next_eligible_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> ContactMove:
        """From a row of ``claim_sql.LEASE_FOR_OUTCOME`` (the lease's ``contact_id`` and its contact's columns)."""
        return cls(
            row.contact_id,
            row.ref,
            row.data_key_id,
            row.state,
            row.attempts,
            row.callback_at,
            row.callback_user_id,
            row.next_eligible_at,
        )

    def params(self) -> dict[str, Any]:
        """The bound values of ``claim_sql.MOVE_CONTACT``."""
        return {
            "b_id": self.id,
            "b_state": self.state,
            "b_attempts": self.attempts,
            "b_callback_at": self.callback_at,
            "b_callback_user_id": self.callback_user_id,
            "b_next_eligible_at": self.next_eligible_at,
        }


def reference_time(request: DispositionRequest, *, issued_at: datetime, now: datetime) -> datetime:
    """When the outcome was pressed: the client's ``occurred_at`` if plausible (in the lease, not ahead), else now."""
    skew = timedelta(seconds=LIMITS.clock_skew_s)
    at = request.occurred_at
    if at is not None and issued_at - skew <= at <= now + skew:
        return min(at, now)
    return now


def check_request(request: DispositionRequest, *, ctx: AgentContext, at: datetime) -> None:
    """Refuse an outcome the campaign cannot take; nothing is stored.

    Args:
        request: The outcome.
        ctx: The agent's work context.
        at: When it was pressed (:func:`reference_time`); a callback must be after it.

    Raises:
        ValidationError: Unknown code; notes holding a phone number or too long;
            a callback without a time, or at a time in the past, too far ahead or
            outside every calling window; a callback time with another code.
    """
    strategy = ctx.policy.strategy
    if request.code not in ctx.policy.disposition_codes():
        raise ValidationError("that disposition is not offered by the campaign")
    if request.notes is not None:
        if len(request.notes) > LIMITS.max_notes_chars:
            raise ValidationError(f"notes are limited to {LIMITS.max_notes_chars} characters")
        if contains_phone_number(request.notes):
            raise ValidationError("notes may not hold a phone number")
    if request.code != strategy.callback_code:
        if request.callback_at is not None or request.callback_for is not None:
            raise ValidationError("a callback time comes only with the callback outcome")
        return
    when = request.callback_at
    if when is None:
        raise ValidationError("a callback needs a time")
    if when <= at:
        raise ValidationError("the callback time is in the past")
    if when > at + timedelta(days=strategy.max_callback_days):
        raise ValidationError(f"a callback may be at most {strategy.max_callback_days} days ahead")
    if not in_window(strategy, ctx.zone, when):
        raise ValidationError("the callback time is outside the campaign's calling hours")


def apply_outcome(contact: ContactMove, *, request: DispositionRequest, ctx: AgentContext, at: datetime) -> None:
    """Count the attempt and move the contact on: done, a callback, or a retry after the code's delay."""
    strategy = ctx.policy.strategy
    contact.attempts += 1
    contact.callback_at = contact.callback_user_id = None
    contact.next_eligible_at = None
    if strategy.is_final(request.code, contact.attempts):
        contact.state = ContactState.DONE
    elif request.code == strategy.callback_code and request.callback_at is not None:
        contact.state = ContactState.CALLBACK
        contact.callback_at = request.callback_at
        owed_to_me = (request.callback_for or CallbackFor.ME) is CallbackFor.ME
        contact.callback_user_id = ctx.user_id if owed_to_me else None
    else:
        contact.state = ContactState.NEW
        contact.next_eligible_at = at + timedelta(minutes=strategy.retry_delay_minutes(request.code))


def superseded(session: Session, *, lease_id: str, issued_at: datetime, contact: ContactMove) -> bool:
    """Tell whether a late outcome may no longer move the contact: leased again since, or out of the pool."""
    later = session.exec(
        select(col(Lease.id)).where(
            col(Lease.contact_id) == contact.id, col(Lease.id) != lease_id, col(Lease.issued_at) >= issued_at
        )
    ).first()
    return later is not None or contact.state not in (ContactState.NEW, ContactState.LEASED, ContactState.CALLBACK)


def same_outcome(stored: Disposition, request: DispositionRequest, *, cipher: FieldCipher | None, ref: str) -> bool:
    """Tell whether a stored outcome is the one this request repeats (same lease, code, notes, callback...)."""
    if (stored.lease_id, stored.code, stored.session_seq, stored.call_id) != (
        request.lease_id,
        request.code,
        request.session_seq,
        request.call_id,
    ):
        return False
    if stored.callback_at != request.callback_at or stored.occurred_at != request.occurred_at:
        return False
    if stored.callback_for != (request.callback_for.value if request.callback_for else None):
        return False
    if stored.no_call_reason != (request.no_call_reason.value if request.no_call_reason else None):
        return False
    if stored.notes is None or request.notes is None or cipher is None:
        return stored.notes is None and request.notes is None
    return cipher.decrypt(ref, notes_field(stored.lease_id), stored.notes) == request.notes
