"""Per-session sequence numbers of what a client reports: a jump is a gap, audited ``sequence_gap``.

Display events and outcomes share one numbering per agent session
(``session_seq``); the client's durable outbox uploads them in order, so a
number skipped means something the client did was never received.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, select

from owner_server.audit import log as audit
from owner_server.models import SessionSequence

__all__ = ["note_sequence"]


def note_sequence(session: Session, *, session_id: str, user_id: int, actor: str, seqs: Iterable[int]) -> int:
    """Record the numbers received from a session and audit any gap before them.

    Args:
        session: The request's transaction.
        session_id: The agent's session.
        user_id: The agent.
        actor: The audit actor.
        seqs: The sequence numbers just stored (duplicates already dropped).

    Returns:
        How many numbers were missing (0 when none).
    """
    wanted = sorted(set(seqs))
    if not wanted:
        return 0
    row = session.exec(
        select(SessionSequence).where(SessionSequence.session_id == session_id).with_for_update()
    ).first()
    if row is None:
        row = SessionSequence(session_id=session_id, user_id=user_id, last_seq=0, gaps=0)
    missing = 0
    for seq in wanted:
        if seq > row.last_seq + 1:
            first, last = row.last_seq + 1, seq - 1
            missing += last - first + 1
            row.gaps += 1
            audit.append(
                session,
                actor=actor,
                action="sequence_gap",
                object_type="session",
                object_id=session_id,
                details={"first_missing": first, "last_missing": last, "missing": last - first + 1},
            )
        row.last_seq = max(row.last_seq, seq)
    session.add(row)
    return missing
