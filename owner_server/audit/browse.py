"""Reading the audit log page by page: the head, the latest checkpoints and entries newest first.

Design:
    * Entries are paged by sequence number (keyset paging: ``seq < before``
      for older pages, ``seq > after`` for newer ones), so a page costs the same
      at entry 10 and at entry 10,000,000; filters use the log's indexes
      (``action``, ``actor``, ``object_id``).
    * Details are returned as stored (canonical JSON of ids and counts; the
      log never holds personal data, see :mod:`owner_server.audit.log`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from owner_server.audit.log import GENESIS_HASH
from owner_server.models import AuditEntry, AuditHead, Checkpoint

__all__ = [
    "CheckpointView",
    "EntryFilter",
    "EntryPage",
    "EntryView",
    "HeadView",
    "browse_entries",
    "chain_head",
    "latest_checkpoints",
]

#: Entries per page at most.
MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class HeadView:
    """The chain head: the last entry's number and hash (0 and the genesis hash for an empty log)."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class EntryView:
    """One audit entry as stored.

    Attributes:
        seq: Its number in the chain.
        at: When it was written (UTC).
        actor: Who (``admin:anna``, ``agent:<ref>``, ``system:rules`` ...).
        action: What (``record_issued``, ``lookup`` ...).
        object_type: What kind of thing it is about (may be empty).
        object_id: Which one (a ref or an id; may be empty).
        details: The stored canonical JSON text.
        hash: The entry's hash.
    """

    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: str
    hash: str


@dataclass(frozen=True, slots=True)
class CheckpointView:
    """A signed checkpoint: the entry it covers, when it was signed (UTC) and the head hash it signs."""

    seq: int
    at: datetime
    head_hash: str


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """Which entries to show; an empty field matches everything. Values match exactly."""

    action: str = ""
    actor: str = ""
    object_type: str = ""
    object_id: str = ""


@dataclass(frozen=True, slots=True)
class EntryPage:
    """One page of entries, newest first.

    Attributes:
        entries: The entries.
        older: ``before`` for the next older page, or None when there is none.
        newer: ``after`` for the next newer page, or None when this is the newest.
    """

    entries: tuple[EntryView, ...]
    older: int | None
    newer: int | None


def chain_head(session: Session) -> HeadView:
    """The chain head (:class:`~owner_server.models.AuditHead`)."""
    head = session.get(AuditHead, 1)
    return HeadView(head.seq, head.hash) if head is not None else HeadView(0, GENESIS_HASH)


def latest_checkpoints(session: Session, *, limit: int = 10) -> list[CheckpointView]:
    """The ``limit`` newest signed checkpoints, newest first."""
    stmt = select(Checkpoint).order_by(col(Checkpoint.seq).desc()).limit(max(1, limit))
    return [CheckpointView(cp.seq, datetime.fromisoformat(cp.ts), cp.head_hash) for cp in session.exec(stmt).all()]


def _view(entry: AuditEntry) -> EntryView:
    return EntryView(
        seq=entry.seq,
        at=datetime.fromisoformat(entry.ts),
        actor=entry.actor,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        details=entry.details,
        hash=entry.hash,
    )


def _filtered(stmt: Any, wanted: EntryFilter) -> Any:
    for column, value in (
        (AuditEntry.action, wanted.action),
        (AuditEntry.actor, wanted.actor),
        (AuditEntry.object_type, wanted.object_type),
        (AuditEntry.object_id, wanted.object_id),
    ):
        if value:
            stmt = stmt.where(col(column) == value)
    return stmt


def _exists(session: Session, wanted: EntryFilter, *, below: int | None = None, above: int | None = None) -> bool:
    stmt = _filtered(select(AuditEntry.seq), wanted)
    if below is not None:
        stmt = stmt.where(col(AuditEntry.seq) < below)
    if above is not None:
        stmt = stmt.where(col(AuditEntry.seq) > above)
    return session.exec(stmt.limit(1)).first() is not None


def browse_entries(
    session: Session,
    *,
    wanted: EntryFilter | None = None,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> EntryPage:
    """One page of audit entries, newest first.

    Args:
        session: A read session.
        wanted: Filters (exact matches); None: every entry.
        before: Only entries older than this sequence number (the next older page).
        after: Only entries newer than this one (the next newer page); ignored with ``before``.
        limit: Entries per page (1 to :data:`MAX_PAGE`).

    Returns:
        The page, with the ``before``/``after`` values of its neighbours.
    """
    wanted = wanted or EntryFilter()
    size = min(max(1, limit), MAX_PAGE)
    stmt = _filtered(select(AuditEntry), wanted)
    if before is not None:
        stmt = stmt.where(col(AuditEntry.seq) < before).order_by(col(AuditEntry.seq).desc())
    elif after is not None:
        stmt = stmt.where(col(AuditEntry.seq) > after).order_by(col(AuditEntry.seq))
    else:
        stmt = stmt.order_by(col(AuditEntry.seq).desc())
    rows = sorted(session.exec(stmt.limit(size)).all(), key=lambda e: -e.seq)
    if not rows:
        return EntryPage((), None, None)
    newest, oldest = rows[0].seq, rows[-1].seq
    return EntryPage(
        tuple(_view(e) for e in rows),
        older=oldest if _exists(session, wanted, below=oldest) else None,
        newer=newest if _exists(session, wanted, above=newest) else None,
    )
