"""Appending to the hash-chained audit log: the head locked once per transaction, rows written with Core.

Each entry's hash is SHA-256 over the previous hash and the entry's canonical
JSON (:func:`entry_hash`). The statements are built once per process, so an
append builds no SQL and flushes no ORM unit of work: it is the head read (once
per transaction, locked), the entry's insert and the head's update.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from owner_server.core import prebuilt
from owner_server.core.txn_memo import current_transaction
from owner_server.models import AuditEntry, AuditHead
from owner_server.models._common import table_of, utcnow

__all__ = ["GENESIS_HASH", "Appended", "Detail", "append", "append_many", "entry_hash", "lock_head"]

GENESIS_HASH = "0" * 64
Detail = str | int | float | bool | None


def _canonical_body(
    seq: int, ts: str, actor: str, action: str, object_type: str, object_id: str, details: str
) -> bytes:
    body = {
        "seq": seq,
        "ts": ts,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _canonical(entry: AuditEntry) -> bytes:
    return _canonical_body(
        entry.seq, entry.ts, entry.actor, entry.action, entry.object_type, entry.object_id, entry.details
    )


def _digest(prev_hash: str, canonical: bytes) -> str:
    """The chain's one hash formula: SHA-256 (hex) over ``prev_hash``, a newline and the canonical entry."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical).hexdigest()


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 (hex) over ``prev_hash`` and the canonical entry."""
    return _digest(entry.prev_hash, _canonical(entry))


_HEAD_KEY = "custos.audit_head"
_ENTRIES = table_of(AuditEntry)
_HEADS = table_of(AuditHead)
#: Built once per process and run on the DB-API cursor (:func:`owner_server.core.prebuilt.run`): no SQL built.
_READ_HEAD = select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.id == 1).with_for_update()
_CREATE_HEAD = insert(_HEADS).values(id=1, seq=0, hash=GENESIS_HASH)
_WRITE_HEAD = update(_HEADS).where(_HEADS.c.id == 1).values(seq=bindparam("b_seq"), hash=bindparam("b_hash"))
_INSERT_ENTRY = insert(_ENTRIES)


@dataclass(slots=True)
class _Head:
    """The chain head as this transaction holds it (locked): the last entry's number and hash."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class Appended:
    """What :func:`append` wrote: the entry's sequence number and hash."""

    seq: int
    hash: str


def lock_head(session: Session) -> _Head:
    """The chain head, locked for this transaction (``SELECT ... FOR UPDATE`` once; kept in ``session.info``).

    The lock holds until the transaction ends, so the head read once stays
    the head for every entry the transaction appends.
    """
    transaction = current_transaction(session)
    held = session.info.get(_HEAD_KEY)
    if held is not None and transaction is not None and held[0] is transaction:
        head: _Head = held[1]
        return head
    found = prebuilt.run(session, _READ_HEAD).first()
    if found is None:
        prebuilt.run(session, _CREATE_HEAD)
        head = _Head(0, GENESIS_HASH)
    else:
        head = _Head(int(found[0]), str(found[1]))
    transaction = current_transaction(session)  # begun by the read, if it was not before
    if transaction is not None:
        session.info[_HEAD_KEY] = (transaction, head)
    return head


def _row(
    head: _Head, actor: str, action: str, object_type: str, object_id: str, details: Mapping[str, Detail] | None
) -> dict[str, Any]:
    """The next entry after ``head`` as an insert's parameters; ``head`` moves on to it."""
    seq = head.seq + 1
    ts = utcnow().isoformat(timespec="microseconds")
    body = json.dumps(dict(details or {}), sort_keys=True, separators=(",", ":"))
    canonical = _canonical_body(seq, ts, actor, action, object_type, object_id, body)
    digest = _digest(head.hash, canonical)
    row = {
        "seq": seq,
        "ts": ts,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": body,
        "prev_hash": head.hash,
        "hash": digest,
    }
    head.seq, head.hash = seq, digest
    return row


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str = "",
    object_id: str = "",
    details: Mapping[str, Detail] | None = None,
) -> Appended:
    """Append one entry in the caller's transaction.

    The head row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
    transactions are already exclusive writers) at the transaction's first
    entry, so entries get gap-free sequence numbers in commit order. The entry
    and the new head are written at once (two prebuilt Core statements, no
    ORM flush). Details must hold ids and counts only.

    Args:
        session: The open transaction of the change being recorded.
        actor: Who acted, e.g. ``agent:<ref>``, ``admin:cli``.
        action: What happened, e.g. ``record_issued``.
        object_type: Kind of object acted on.
        object_id: Its id.
        details: Extra ids and counts (never personal data).

    Returns:
        The new entry's sequence number and hash.
    """
    head = lock_head(session)
    row = _row(head, actor, action, object_type, object_id, details)
    prebuilt.run(session, _INSERT_ENTRY, row)
    prebuilt.run(session, _WRITE_HEAD, {"b_seq": head.seq, "b_hash": head.hash})
    return Appended(head.seq, head.hash)


def append_many(session: Session, entries: Sequence[Mapping[str, Any]]) -> list[Appended]:
    """Append several entries in the caller's transaction: one multi-row insert and one head update.

    Args:
        session: The open transaction of the changes being recorded.
        entries: Each entry's :func:`append` keyword arguments (``actor`` and ``action`` required).

    Returns:
        Each entry's sequence number and hash, in order.
    """
    if not entries:
        return []
    head = lock_head(session)
    rows = [
        _row(
            head,
            e["actor"],
            e["action"],
            e.get("object_type", ""),
            e.get("object_id", ""),
            e.get("details"),
        )
        for e in entries
    ]
    prebuilt.run(session, _INSERT_ENTRY, rows)
    prebuilt.run(session, _WRITE_HEAD, {"b_seq": head.seq, "b_hash": head.hash})
    return [Appended(r["seq"], r["hash"]) for r in rows]
