"""``verify_only`` fields: the agent types what the customer says, the server answers match or no match.

The stored value never leaves the server: not in the answer, an error, a log
or the audit (``field_verified`` holds the field's name and the match only).
At most ``LIMITS.verify_tries`` tries per field per lease.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from owner_server.audit import log as audit
from owner_server.identity.login import AgentPrincipal
from owner_server.models import Contact, Lease, VerifyTry
from owner_server.models._common import utcnow
from owner_server.vault.keys import KeyService
from owner_server.work.context import load_context
from shared.calls import VerifyRequest, VerifyResponse
from shared.errors import ErrorCode, NotFoundError, RateLimitedError, ValidationError
from shared.limits import LIMITS
from shared.policy import FieldMode

__all__ = ["normalise", "verify_field"]

_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%Y.%m.%d", "%Y/%m/%d", "%d%m%Y", "%Y%m%d")
_SEPARATORS = re.compile(r"[\s\-‐-―_]+")


def _as_date(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time or zone
        except ValueError:
            continue
    return None


def normalise(value: str) -> str:
    """The comparable form of a value: a date as ISO ``YYYY-MM-DD``; else case-folded without spaces or dashes.

    Dates are read in the common Polish and ISO forms: ``1990-01-31``,
    ``31.01.1990``, ``31/01/1990``, ``31-01-1990``, ``31011990``, ``19900131``.
    """
    text = unicodedata.normalize("NFKC", value).strip()
    found = _as_date(text.replace(" ", ""))
    if found is not None:
        return found.isoformat()
    return _SEPARATORS.sub("", text).casefold()


def verify_field(
    session: Session, *, agent: AgentPrincipal, request: VerifyRequest, keys: KeyService, now: datetime | None = None
) -> VerifyResponse:
    """Compare what the agent typed with a ``verify_only`` field of the agent's open lease.

    Args:
        session: The request's transaction.
        agent: The authenticated agent.
        request: The lease, the field's name and the typed value.
        keys: The key service (to decrypt the stored value, here only).
        now: The request's time (UTC); the clock when None.

    Returns:
        Whether it matched and how many tries are left for this field.

    Raises:
        NotFoundError: The lease is not the agent's open one (``no_lease``), or
            the record has no such ``verify_only`` field.
        RateLimitedError: ``verify_exhausted``: the field had all its tries by this agent on this contact
            (counted across leases, so a callback to oneself brings no new tries).
        ValidationError: The value is empty once normalised.
    """
    now = now or utcnow()
    lease = session.get(Lease, request.lease_id, with_for_update=True)
    if lease is None or lease.user_id != agent.user_id or lease.closed_at is not None or lease.expires_at <= now:
        raise NotFoundError("no open lease with that id", code=ErrorCode.NO_LEASE)
    ctx = load_context(agent)
    contact = session.get(Contact, lease.contact_id)
    if ctx.policy.rule_for(request.field).mode is not FieldMode.VERIFY_ONLY or contact is None:
        raise NotFoundError("the record has no such field to verify")
    values = keys.cipher_for(session, data_key_id=contact.data_key_id).decrypt_fields(contact.ref, contact.payload)
    stored = values.get(request.field, "")
    if not stored:
        raise NotFoundError("the record has no such field to verify")
    # Counted per agent and contact across leases: a callback to oneself brings the contact back with a new
    # lease, and must not bring new tries with it.
    used = session.exec(
        select(func.count())
        .select_from(VerifyTry)
        .join(Lease, col(Lease.id) == col(VerifyTry.lease_id))
        .where(
            col(Lease.contact_id) == lease.contact_id,
            col(Lease.user_id) == lease.user_id,
            col(VerifyTry.field) == request.field,
        )
    ).one()
    if int(used) >= LIMITS.verify_tries:
        raise RateLimitedError("no tries left for this field of this customer", code=ErrorCode.VERIFY_EXHAUSTED)
    typed = normalise(request.value)
    if not typed:
        raise ValidationError("type what the customer said")
    matched = typed == normalise(stored)
    session.add(VerifyTry(lease_id=lease.id, field=request.field, matched=matched, at=now))
    audit.append(
        session,
        actor=agent.actor,
        action="field_verified",
        object_type="contact",
        object_id=contact.ref,
        details={"lease_id": lease.id, "field": request.field, "match": matched, "try": int(used) + 1},
    )
    return VerifyResponse(field=request.field, match=matched, tries_left=LIMITS.verify_tries - int(used) - 1)
