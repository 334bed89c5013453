"""Do-not-call (DNC) suppression by keyed blind index.

The DNC list holds only HMAC blind indexes of E.164 numbers, so it reveals
no number. Suppressed contacts are never issued: distribution skips any
contact whose index is on the list, and importing DNC numbers also marks
matching contacts ``suppressed`` at once. A matching contact an agent holds
right now is withdrawn in the same transaction: its lease is closed (audited
``lease_withdrawn`` with reason ``dnc``, the shape
:func:`owner_server.work.suspension.withdraw_lease` writes), so the agent's
next request gets another record and an outcome for the withdrawn one is
refused (``no_lease``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.selectable import Exists
from sqlmodel import Session, col, select

from owner_server.audit import log as audit
from owner_server.core.db import session_scope
from owner_server.lists.importing.normalise import NormalisedRow, RejectedRow
from owner_server.models import Contact, ContactState, Lease, Suppression
from owner_server.models._common import utcnow
from owner_server.vault.keys import KeyService

__all__ = ["DncReport", "import_dnc", "is_suppressed_clause", "mark_suppressed", "withdraw_suppressed_leases"]

BATCH = 2000


@dataclass(slots=True)
class DncReport:
    """Outcome of a DNC import: counts and rejected record numbers, no numbers."""

    added: int = 0
    already_listed: int = 0
    contacts_suppressed: int = 0
    leases_withdrawn: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "added": self.added,
            "already_listed": self.already_listed,
            "contacts_suppressed": self.contacts_suppressed,
            "leases_withdrawn": self.leases_withdrawn,
            "rejected": len(self.rejected),
            "rejected_records": [
                {"record": r.record_no, "code": r.reason_code, "reason": r.reason} for r in self.rejected
            ],
        }


def is_suppressed_clause() -> Exists:
    """A SQL condition true for contacts whose phone is on the DNC list."""
    return exists().where(col(Suppression.phone_bidx) == col(Contact.phone_bidx))


def mark_suppressed(session: Session, *, bidxs: Iterable[bytes] | None = None, batch_id: int | None = None) -> int:
    """Mark not-yet-worked contacts on the DNC list as suppressed.

    Args:
        session: Open transaction.
        bidxs: Only these indexes (a DNC batch); all listed ones when None.
        batch_id: Only contacts of this import batch.

    Returns:
        How many contacts changed state.
    """
    stmt = update(Contact).where(col(Contact.state).in_([ContactState.NEW, ContactState.CALLBACK]))
    if bidxs is not None:
        stmt = stmt.where(col(Contact.phone_bidx).in_(list(bidxs)))
    else:
        stmt = stmt.where(is_suppressed_clause())
    if batch_id is not None:
        stmt = stmt.where(col(Contact.batch_id) == batch_id)
    # a suppressed contact's callback is void: clearing it keeps ix_contact_callback_pick to callbacks that can be due
    values = {"state": ContactState.SUPPRESSED, "callback_at": None, "callback_user_id": None}
    result = session.execute(stmt.values(**values).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def withdraw_suppressed_leases(
    session: Session, *, bidxs: Iterable[bytes], actor: str, now: datetime | None = None
) -> int:
    """Withdraw the open leases of contacts with these phone indexes and mark those contacts suppressed.

    One bulk update closes the leases (only those still open, so a lease
    closed meanwhile is left as it is), one marks the contacts, and each
    withdrawal is audited ``lease_withdrawn`` (object the contact's ref,
    details ``lease_id`` and ``reason: "dnc"``), as
    :func:`owner_server.work.suspension.withdraw_lease` writes it. On
    PostgreSQL the lease rows are locked first (``FOR UPDATE``), so an agent's
    concurrent request waits for this transaction.

    Args:
        session: Open transaction.
        bidxs: Blind indexes on the DNC list (those of one DNC batch).
        actor: Who imported the DNC numbers, for the audit log.
        now: Closing time (UTC); the clock when None.

    Returns:
        How many leases were withdrawn (each one's contact is now suppressed).
    """
    wanted = list(bidxs)
    if not wanted:
        return 0
    held = session.exec(
        select(Lease.id, Contact.id, Contact.ref)
        .join(Contact, col(Contact.id) == col(Lease.contact_id))
        .where(col(Lease.closed_at).is_(None), col(Contact.phone_bidx).in_(wanted))
        .order_by(col(Lease.id))
        .with_for_update(of=Lease)
    ).all()
    if not held:
        return 0
    now = now or utcnow()
    lease_ids = [lease_id for lease_id, _, _ in held]
    session.execute(
        update(Lease)
        .where(col(Lease.id).in_(lease_ids), col(Lease.closed_at).is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Contact)
        .where(col(Contact.id).in_([contact_id for _, contact_id, _ in held]))
        .values(state=ContactState.SUPPRESSED, callback_at=None, callback_user_id=None)
        .execution_options(synchronize_session=False)
    )
    for lease_id, _, ref in held:
        audit.append(
            session,
            actor=actor,
            action="lease_withdrawn",
            object_type="contact",
            object_id=ref,
            details={"lease_id": lease_id, "reason": "dnc"},
        )
    return len(held)


def _flush(engine: Engine, bidxs: dict[bytes, int], report: DncReport, sha: str, actor: str) -> None:
    if not bidxs:
        return
    with session_scope(engine) as session:
        known = set(
            session.exec(select(Suppression.phone_bidx).where(col(Suppression.phone_bidx).in_(list(bidxs)))).all()
        )
        fresh = [b for b in bidxs if b not in known]
        session.add_all(Suppression(phone_bidx=b, source_sha256=sha) for b in fresh)
        report.added += len(fresh)
        report.already_listed += len(known)
        withdrawn = withdraw_suppressed_leases(session, bidxs=bidxs, actor=actor)  # listed before too: idempotent
        report.leases_withdrawn += withdrawn
        report.contacts_suppressed += mark_suppressed(session, bidxs=fresh) + withdrawn


def import_dnc(
    engine: Engine,
    *,
    keys: KeyService,
    rows: Iterable[NormalisedRow | RejectedRow],
    source_sha256: str,
    actor: str,
    on_progress: Callable[[int], None] | None = None,
) -> DncReport:
    """Add phone numbers to the DNC list (idempotent) and suppress matching contacts.

    Each batch is its own short transaction: a DNC entry, once written, only
    ever makes the system safer, so a failure half-way keeps what was added.
    Matching contacts an agent holds are withdrawn in the batch's transaction
    (:func:`withdraw_suppressed_leases`).

    Returns:
        The report.
    """
    report = DncReport()
    with session_scope(engine) as session:
        indexer = keys.indexer(session)
    pending: dict[bytes, int] = {}
    handled = 0
    for row in rows:
        handled += 1
        if isinstance(row, RejectedRow):
            report.rejected.append(row)
            continue
        pending.setdefault(indexer.phone(row.phone.e164), row.record_no)
        for _, extra in row.extra_phones:
            pending.setdefault(indexer.phone(extra.e164), row.record_no)
        if len(pending) >= BATCH:
            _flush(engine, pending, report, source_sha256, actor)
            pending = {}
        if on_progress is not None and handled % 1000 == 0:
            on_progress(handled)
    _flush(engine, pending, report, source_sha256, actor)
    with session_scope(engine) as session:
        audit.append(
            session,
            actor=actor,
            action="dnc_imported",
            object_type="dnc",
            object_id=source_sha256[:16],
            details={
                "added": report.added,
                "already_listed": report.already_listed,
                "contacts_suppressed": report.contacts_suppressed,
                "leases_withdrawn": report.leases_withdrawn,
                "rejected": len(report.rejected),
            },
        )
    return report
