"""Do-not-call (DNC) suppression by keyed blind index.

The DNC list holds only HMAC blind indexes of E.164 numbers, so it reveals
no number. Suppressed contacts are never issued: distribution skips any
contact whose index is on the list, and importing DNC numbers also marks
matching contacts ``suppressed`` at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import exists, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.selectable import Exists
from sqlmodel import Session, col, select

from owner_server.audit import log as audit
from owner_server.core.db import session_scope
from owner_server.lists.importing.normalise import NormalisedRow, RejectedRow
from owner_server.models import Contact, ContactState, Suppression
from owner_server.vault.keys import KeyService

__all__ = ["DncReport", "import_dnc", "is_suppressed_clause", "mark_suppressed"]

BATCH = 2000


@dataclass(slots=True)
class DncReport:
    """Outcome of a DNC import: counts and rejected record numbers, no numbers."""

    added: int = 0
    already_listed: int = 0
    contacts_suppressed: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "added": self.added,
            "already_listed": self.already_listed,
            "contacts_suppressed": self.contacts_suppressed,
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
    stmt = update(Contact).where(col(Contact.state).in_([ContactState.NEW, ContactState.STAGED]))
    if bidxs is not None:
        stmt = stmt.where(col(Contact.phone_bidx).in_(list(bidxs)))
    else:
        stmt = stmt.where(is_suppressed_clause())
    if batch_id is not None:
        stmt = stmt.where(col(Contact.batch_id) == batch_id)
    result = session.execute(stmt.values(state=ContactState.SUPPRESSED).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _flush(engine: Engine, bidxs: dict[bytes, int], report: DncReport, sha: str) -> None:
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
        report.contacts_suppressed += mark_suppressed(session, bidxs=fresh)


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
        if row.phone2 is not None:
            pending.setdefault(indexer.phone(row.phone2.e164), row.record_no)
        if len(pending) >= BATCH:
            _flush(engine, pending, report, source_sha256)
            pending = {}
        if on_progress is not None and handled % 1000 == 0:
            on_progress(handled)
    _flush(engine, pending, report, source_sha256)
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
                "rejected": len(report.rejected),
            },
        )
    return report
