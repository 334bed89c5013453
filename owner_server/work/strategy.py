"""The contact strategy applied: calling windows, attempts and do-not-call, at issue and at dial time.

:func:`check_dialable` is what the calls route runs before the owner's
telephony dials a leased contact; the issuing transaction runs the same
checks (:mod:`owner_server.work.distribution`). Policy values come from
:class:`shared.strategy.ContactStrategy`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from owner_server.models import Contact, ContactState, Suppression
from owner_server.work.context import AgentContext
from shared.errors import ConflictError, ErrorCode
from shared.strategy import ContactStrategy

__all__ = ["MAX_IDLE_RETRY_S", "check_dialable", "in_window", "seconds_until_open"]

#: Longest ``retry_after_s`` an agent is told outside calling hours (it asks again then).
MAX_IDLE_RETRY_S = 300
_LOOKAHEAD_DAYS = 15


def in_window(strategy: ContactStrategy, zone: ZoneInfo, now: datetime) -> bool:
    """Tell whether ``now`` (aware) is inside a calling window of the campaign, not on a holiday."""
    return strategy.allows(now.astimezone(zone))


def seconds_until_open(strategy: ContactStrategy, zone: ZoneInfo, now: datetime) -> int:
    """Seconds from ``now`` until a calling window next opens (0 when one is open now).

    Looks ahead two weeks (holidays included); beyond that, or when nothing
    opens, returns :data:`MAX_IDLE_RETRY_S`. DST gaps follow :mod:`zoneinfo`.
    """
    if in_window(strategy, zone, now):
        return 0
    local = now.astimezone(zone)
    for offset in range(_LOOKAHEAD_DAYS):
        day = local.date() + timedelta(days=offset)
        if day in strategy.holidays:
            continue
        starts = sorted(
            datetime.combine(day, w.start, tzinfo=zone)
            for w in strategy.windows
            if day.isoweekday() in {d.iso for d in w.days}
        )
        for start in starts:
            if start > local:
                return max(1, int((start.astimezone(UTC) - now.astimezone(UTC)).total_seconds()))
    return MAX_IDLE_RETRY_S


def is_listed(session: Session, *, contact: Contact) -> bool:
    """Tell whether the contact's phone is on the do-not-call list (by blind index)."""
    found = session.exec(select(col(Suppression.id)).where(col(Suppression.phone_bidx) == contact.phone_bidx)).first()
    return found is not None


def check_dialable(session: Session, *, ctx: AgentContext, contact: Contact, now: datetime) -> None:
    """Refuse to dial a contact that may not be called now.

    Run in the dialling transaction (and, the same checks, in the issuing one):
    the DNC list may have grown, the window closed or the attempts run out
    since the record was issued.

    Args:
        session: The request's transaction.
        ctx: The agent's work context (campaign policy and time zone).
        contact: The leased contact.
        now: The request's time (aware).

    Raises:
        ConflictError: ``do_not_call`` (on the DNC list, suppressed or erased),
            ``outside_calling_hours`` (outside every window or a holiday) or
            ``max_attempts`` (the contact had all its attempts). Messages hold
            no personal data.
    """
    strategy = ctx.policy.strategy
    if contact.state in (ContactState.SUPPRESSED, ContactState.ERASED) or is_listed(session, contact=contact):
        raise ConflictError("this contact may not be called (do-not-call list)", code=ErrorCode.DO_NOT_CALL)
    if not in_window(strategy, ctx.zone, now):
        raise ConflictError("outside the campaign's calling hours", code=ErrorCode.OUTSIDE_CALLING_HOURS)
    if contact.attempts >= strategy.max_attempts:
        raise ConflictError("this contact had all its call attempts", code=ErrorCode.MAX_ATTEMPTS)
