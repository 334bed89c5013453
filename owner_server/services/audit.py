"""Hash-chained, append-only audit log with signed checkpoints.

Each entry's hash is SHA-256 over the previous hash and the entry's canonical
JSON, so editing, deleting or reordering any entry breaks every later hash.
Signed checkpoints (Ed25519, RFC 8032) of the head let ``verify`` detect a
truncated tail that a database-level attacker re-headed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import Session, col, select

from owner_server.models import AuditEntry, AuditHead, Checkpoint
from owner_server.models._common import utcnow

__all__ = ["GENESIS_HASH", "VerifyResult", "append", "entry_hash", "sign_checkpoint", "verify_chain"]

GENESIS_HASH = "0" * 64
Detail = str | int | float | bool | None


def _canonical(entry: AuditEntry) -> bytes:
    body = {
        "seq": entry.seq,
        "ts": entry.ts,
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": entry.details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 (hex) over ``prev_hash`` and the canonical entry."""
    return hashlib.sha256(entry.prev_hash.encode("ascii") + b"\n" + _canonical(entry)).hexdigest()


def _lock_head(session: Session) -> AuditHead:
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS_HASH)
        session.add(head)
        session.flush()
    return head


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str = "",
    object_id: str = "",
    details: Mapping[str, Detail] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction.

    The head row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
    transactions are already exclusive writers), so entries get gap-free
    sequence numbers in commit order. Details must hold ids and counts only.

    Args:
        session: The open transaction of the change being recorded.
        actor: Who acted, e.g. ``agent:<ref>``, ``admin:cli``.
        action: What happened, e.g. ``record_issued``.
        object_type: Kind of object acted on.
        object_id: Its id.
        details: Extra ids and counts (never personal data).

    Returns:
        The new entry (flushed).
    """
    head = _lock_head(session)
    entry = AuditEntry(
        seq=head.seq + 1,
        ts=utcnow().isoformat(timespec="microseconds"),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=json.dumps(dict(details or {}), sort_keys=True, separators=(",", ":")),
        prev_hash=head.hash,
        hash="",
    )
    entry.hash = entry_hash(entry)
    head.seq, head.hash = entry.seq, entry.hash
    session.add(entry)
    session.add(head)
    session.flush()
    return entry


def _checkpoint_message(seq: int, head_hash: str, ts: str) -> bytes:
    return f"custos-checkpoint-v1|{seq}|{head_hash}|{ts}".encode()


def sign_checkpoint(session: Session, *, key: Ed25519PrivateKey) -> Checkpoint | None:
    """Sign the current head; returns ``None`` when the log is empty or already checkpointed."""
    head = _lock_head(session)
    if head.seq == 0 or session.get(Checkpoint, head.seq) is not None:
        return None
    ts = utcnow().isoformat(timespec="seconds")
    cp = Checkpoint(
        seq=head.seq, head_hash=head.hash, ts=ts, signature=key.sign(_checkpoint_message(head.seq, head.hash, ts))
    )
    session.add(cp)
    session.flush()
    return cp


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of :func:`verify_chain`.

    Attributes:
        ok: True when the whole chain and every checkpoint check out.
        entries: Entries checked.
        checkpoints: Checkpoints checked.
        bad_seq: Sequence number of the first bad entry, or None.
        reason: What is wrong, or empty.
    """

    ok: bool
    entries: int
    checkpoints: int
    bad_seq: int | None = None
    reason: str = ""


def verify_chain(session: Session, *, public_key: Ed25519PublicKey | None, batch: int = 5000) -> VerifyResult:
    """Recompute the chain and check it against the head and signed checkpoints.

    Args:
        session: A read session.
        public_key: The audit signing key's public half; None skips signatures.
        batch: Entries read per query.

    Returns:
        The result; ``bad_seq`` names the first entry that does not check out.
    """
    checkpoints = {cp.seq: cp for cp in session.exec(select(Checkpoint)).all()}
    prev_hash, expected_seq, count, last = GENESIS_HASH, 1, 0, 0
    hashes_at: dict[int, str] = {}
    while True:
        rows = session.exec(
            select(AuditEntry).where(col(AuditEntry.seq) > last).order_by(col(AuditEntry.seq)).limit(batch)
        ).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return VerifyResult(
                    False, count, 0, expected_seq, f"entry {expected_seq} is missing (next is {entry.seq})"
                )
            if entry.prev_hash != prev_hash:
                return VerifyResult(
                    False, count, 0, entry.seq, f"entry {entry.seq} does not link to entry {entry.seq - 1}"
                )
            if entry_hash(entry) != entry.hash:
                return VerifyResult(False, count, 0, entry.seq, f"entry {entry.seq} was altered (hash mismatch)")
            if entry.seq in checkpoints:
                hashes_at[entry.seq] = entry.hash
            prev_hash, expected_seq, count, last = entry.hash, expected_seq + 1, count + 1, entry.seq
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if head_seq != last or head_hash != prev_hash:
        return VerifyResult(
            False, count, 0, last + 1, f"the log ends at entry {last} but its head says {head_seq}: truncated"
        )
    for seq, cp in sorted(checkpoints.items()):
        if seq > last:
            return VerifyResult(
                False, count, 0, last + 1, f"checkpoint {seq} is beyond the last entry {last}: truncated"
            )
        if hashes_at.get(seq) != cp.head_hash:
            return VerifyResult(False, count, 0, seq, f"entry {seq} does not match its signed checkpoint")
        if public_key is not None:
            try:
                public_key.verify(cp.signature, _checkpoint_message(cp.seq, cp.head_hash, cp.ts))
            except InvalidSignature:
                return VerifyResult(False, count, 0, seq, f"checkpoint {seq} has a bad signature")
    return VerifyResult(True, count, len(checkpoints))
