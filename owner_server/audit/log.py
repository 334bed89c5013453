"""Hash-chained, append-only audit log with signed checkpoints.

Each entry's hash is SHA-256 over the previous hash and the entry's canonical
JSON, so editing, deleting or reordering any entry breaks every later hash.
Signed checkpoints (Ed25519, RFC 8032) of the head let ``verify`` detect a
truncated tail that a database-level attacker re-headed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import Session, col, select

from owner_server.audit.chain import (
    GENESIS_HASH,
    Appended,
    Detail,
    append,
    append_many,
    entry_hash,
    lock_head,
)
from owner_server.audit.verify_fast import check_batch, read_batches
from owner_server.models import AuditEntry, AuditHead, Checkpoint
from owner_server.models._common import utcnow

__all__ = [
    "GENESIS_HASH",
    "Anchor",
    "Appended",
    "Detail",
    "VerifyResult",
    "Walked",
    "append",
    "append_many",
    "entry_hash",
    "finish_chain",
    "sign_checkpoint",
    "verify_chain",
]


def _checkpoint_message(seq: int, head_hash: str, ts: str, prev: Checkpoint | None) -> bytes:
    """What a checkpoint signs: the head, and the previous checkpoint (so none can be dropped)."""
    prev_seq = prev.seq if prev else 0
    prev_sig = hashlib.sha256(prev.signature).hexdigest() if prev else GENESIS_HASH
    return f"custos-checkpoint-v2|{seq}|{head_hash}|{ts}|{prev_seq}|{prev_sig}".encode()


def _latest_checkpoint(session: Session) -> Checkpoint | None:
    return session.exec(select(Checkpoint).order_by(col(Checkpoint.seq).desc()).limit(1)).first()


def sign_checkpoint(session: Session, *, key: Ed25519PrivateKey) -> Checkpoint | None:
    """Sign the current head, chained to the previous checkpoint.

    Returns:
        The new checkpoint, or ``None`` when the log is empty or the head is
        already checkpointed. Callers should also anchor it outside the
        database (see :mod:`owner_server.audit.anchor`).
    """
    head = lock_head(session)
    if head.seq == 0 or session.get(Checkpoint, head.seq) is not None:
        return None
    prev = _latest_checkpoint(session)
    ts = utcnow().isoformat(timespec="seconds")
    message = _checkpoint_message(head.seq, head.hash, ts, prev)
    cp = Checkpoint(seq=head.seq, head_hash=head.hash, ts=ts, signature=key.sign(message))
    session.add(cp)
    session.flush()
    return cp


@dataclass(frozen=True, slots=True)
class Anchor:
    """A checkpoint kept outside the database: its sequence number and head hash."""

    seq: int
    head_hash: str


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


def _entry(row: Sequence[Any]) -> AuditEntry:
    seq, ts, actor, action, otype, oid, details, prev_hash, hash_ = row
    return AuditEntry.model_construct(
        seq=seq,
        ts=ts,
        actor=actor,
        action=action,
        object_type=otype,
        object_id=oid,
        details=details,
        prev_hash=prev_hash,
        hash=hash_,
    )


def _check_slowly(rows: Sequence[Sequence[Any]], prev_hash: str, expected_seq: int, count: int) -> VerifyResult | None:
    """The per-entry check of a batch the bulk check refused: names the first bad entry."""
    for row in rows:
        entry = _entry(row)
        bad = None
        try:
            if entry.seq != expected_seq:
                bad = (expected_seq, f"entry {expected_seq} is missing (next is {entry.seq})")
            elif entry.prev_hash != prev_hash:
                bad = (entry.seq, f"entry {entry.seq} does not link to entry {entry.seq - 1}")
            elif entry_hash(entry) != entry.hash:
                bad = (entry.seq, f"entry {entry.seq} was altered (hash mismatch)")
        except (TypeError, ValueError, UnicodeError, AttributeError):
            bad = (expected_seq, f"entry {expected_seq} was altered (not text)")
        if bad:
            return VerifyResult(False, count, 0, *bad)
        prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    return None  # a value the bulk path does not take (not text) that still hashes right


def _walk(session: Session, wanted: set[int], batch: int, *, after: int = 0, prev_hash: str = GENESIS_HASH) -> Walked:
    expected_seq, count, last = after + 1, 0, after
    hashes_at: dict[int, str] = {}
    for rows in read_batches(session, after=after, batch=batch):
        if not check_batch(rows, prev_hash=prev_hash, first_seq=expected_seq):
            failed = _check_slowly(rows, prev_hash, expected_seq, count)
            if failed is not None:
                return failed, count, prev_hash, last, hashes_at
        first = expected_seq
        for seq in wanted:
            if first <= seq < first + len(rows):
                hashes_at[seq] = str(rows[seq - first][8])
        prev_hash, last = str(rows[-1][8]), int(rows[-1][0])
        expected_seq, count = last + 1, count + len(rows)
    return None, count, prev_hash, last, hashes_at


def verify_chain(
    session: Session,
    *,
    public_key: Ed25519PublicKey | None,
    anchors: Sequence[Anchor] = (),
    batch: int = 20000,
) -> VerifyResult:
    """Recompute the chain and check it against the head, signed checkpoints and anchors.

    One process reads the whole log; :func:`owner_server.audit.verify_ranges.verify_full`
    gives the same result with several.

    Args:
        session: A read session.
        public_key: The audit signing key's public half; None skips signatures.
        anchors: Checkpoints recorded outside the database; each must still be
            in the log, unchanged, with its checkpoint (catches a log rewritten
            from scratch by someone who can write the database).
        batch: Entries read per query.

    Returns:
        The result; ``bad_seq`` names the first entry that does not check out.
    """
    checkpoints = sorted(session.exec(select(Checkpoint)).all(), key=lambda cp: cp.seq)
    walked = _walk(session, {cp.seq for cp in checkpoints} | {a.seq for a in anchors}, batch)
    return finish_chain(session, walked, checkpoints, public_key=public_key, anchors=anchors)


Walked = tuple[VerifyResult | None, int, str, int, dict[int, str]]


def finish_chain(
    session: Session,
    walked: Walked,
    checkpoints: Sequence[Checkpoint],
    *,
    public_key: Ed25519PublicKey | None,
    anchors: Sequence[Anchor],
) -> VerifyResult:
    """The checks after the walk: the head, the anchors, the signed checkpoints (in seq order)."""
    failed, count, prev_hash, last, hashes_at = walked
    if failed:
        return failed
    by_seq = {cp.seq: cp for cp in checkpoints}
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if head_seq != last or head_hash != prev_hash:
        return VerifyResult(
            False, count, 0, last + 1, f"the log ends at entry {last} but its head says {head_seq}: truncated"
        )
    for anchor in anchors:
        if anchor.seq > last:
            return VerifyResult(
                False, count, 0, last + 1, f"anchored checkpoint {anchor.seq} is beyond the last entry: truncated"
            )
        if hashes_at.get(anchor.seq) != anchor.head_hash or anchor.seq not in by_seq:
            return VerifyResult(
                False, count, 0, anchor.seq, f"entry {anchor.seq} or its checkpoint differs from the anchor"
            )
    prev: Checkpoint | None = None
    for cp in checkpoints:
        if cp.seq > last:
            return VerifyResult(
                False, count, 0, last + 1, f"checkpoint {cp.seq} is beyond the last entry {last}: truncated"
            )
        if hashes_at.get(cp.seq) != cp.head_hash:
            return VerifyResult(False, count, 0, cp.seq, f"entry {cp.seq} does not match its signed checkpoint")
        if public_key is not None:
            try:
                public_key.verify(cp.signature, _checkpoint_message(cp.seq, cp.head_hash, cp.ts, prev))
            except InvalidSignature:
                return VerifyResult(
                    False, count, 0, cp.seq, f"checkpoint {cp.seq} has a bad signature or a dropped predecessor"
                )
        prev = cp
    return VerifyResult(True, count, len(checkpoints))
