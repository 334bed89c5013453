"""Incremental verification: only the entries after the latest signed checkpoint.

Where "last verified" is kept: in the latest signed checkpoint itself, not in a record of its
own. A checkpoint is a statement by the audit signing key (Ed25519, RFC 8032) of the head at its
``seq``, chained to the checkpoint before it; someone who can write the database but does not
hold the key can delete checkpoints (the pass then starts earlier, or the anchors show it) but
cannot make or move one. The pass checks that checkpoint's signature, that its entry still has
the signed hash, then the chain from it to the head, and every anchor from it on. What lies
before the checkpoint is not re-read: a rewrite of that history is what the full pass
(:func:`owner_server.audit.log.verify_chain`) finds, so run it too, less often.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, col, select

from owner_server.audit.log import (
    GENESIS_HASH,
    Anchor,
    VerifyResult,
    _checkpoint_message,
    _walk,
    verify_chain,
)
from owner_server.models import AuditEntry, AuditHead, Checkpoint

__all__ = ["verify_since_checkpoint"]


def verify_since_checkpoint(
    session: Session, *, public_key: Ed25519PublicKey, anchors: Sequence[Anchor] = (), batch: int = 20000
) -> VerifyResult:
    """Verify the log from its latest signed checkpoint to the head.

    Args:
        session: A read session (one snapshot).
        public_key: The audit signing key's public half (required: the start is trusted only
            because it is signed).
        anchors: Checkpoints kept outside the database; the newest must still have its
            checkpoint, and those from the start on must match the entries.
        batch: Entries read per query.

    Returns:
        The result; ``entries`` counts the entries after the start, ``checkpoints`` is 1 when
        a checkpoint was the start. With no checkpoint yet this is the full pass.
    """
    latest = session.exec(select(Checkpoint).order_by(col(Checkpoint.seq).desc()).limit(1)).first()
    if latest is None:
        if anchors:
            newest = max(a.seq for a in anchors)
            return VerifyResult(False, 0, 0, newest, f"anchored checkpoint {newest} has no checkpoint in the log")
        return verify_chain(session, public_key=public_key, anchors=anchors, batch=batch)
    newest_anchor = max((a.seq for a in anchors), default=0)
    if newest_anchor > latest.seq:
        return VerifyResult(
            False, 0, 0, newest_anchor, f"anchored checkpoint {newest_anchor} has no checkpoint in the log"
        )
    prev = session.exec(
        select(Checkpoint).where(col(Checkpoint.seq) < latest.seq).order_by(col(Checkpoint.seq).desc()).limit(1)
    ).first()
    try:
        public_key.verify(latest.signature, _checkpoint_message(latest.seq, latest.head_hash, latest.ts, prev))
    except InvalidSignature:
        return VerifyResult(
            False, 0, 0, latest.seq, f"checkpoint {latest.seq} has a bad signature or a dropped predecessor"
        )
    start = session.get(AuditEntry, latest.seq)
    if start is None or start.hash != latest.head_hash:
        return VerifyResult(False, 0, 0, latest.seq, f"entry {latest.seq} does not match its signed checkpoint")
    wanted = {a.seq for a in anchors if a.seq >= latest.seq}
    failed, count, prev_hash, last, hashes_at = _walk(
        session, wanted, batch, after=latest.seq, prev_hash=latest.head_hash
    )
    if failed:
        return failed
    hashes_at[latest.seq] = latest.head_hash
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if head_seq != last or head_hash != prev_hash:
        return VerifyResult(
            False, count, 1, last + 1, f"the log ends at entry {last} but its head says {head_seq}: truncated"
        )
    for anchor in anchors:
        if anchor.seq >= latest.seq and hashes_at.get(anchor.seq) != anchor.head_hash:
            return VerifyResult(
                False, count, 1, anchor.seq, f"entry {anchor.seq} or its checkpoint differs from the anchor"
            )
    return VerifyResult(True, count, 1)
