"""Per-session sequence numbers of what a client reports: a jump is a gap, audited ``sequence_gap``.

Display events and outcomes share one numbering per agent session
(``session_seq``); the client's durable outbox uploads them in order, so a
number skipped means something the client did was never received.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from owner_server.audit import log as audit
from owner_server.work import claim_sql

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
    found = claim_sql.run(session, claim_sql.READ_SEQUENCE, {"b_session_id": session_id}).first()
    last_seq, gaps = (0, 0) if found is None else (int(found.last_seq), int(found.gaps))
    missing = 0
    for seq in wanted:
        if seq > last_seq + 1:
            first, last = last_seq + 1, seq - 1
            missing += last - first + 1
            gaps += 1
            audit.append(
                session,
                actor=actor,
                action="sequence_gap",
                object_type="session",
                object_id=session_id,
                details={"first_missing": first, "last_missing": last, "missing": last - first + 1},
            )
        last_seq = max(last_seq, seq)
    if found is None:
        row = {"session_id": session_id, "user_id": user_id, "last_seq": last_seq, "gaps": gaps}
        claim_sql.run(session, claim_sql.INSERT_SEQUENCE, row)
    else:
        params = {"b_session_id": session_id, "b_last_seq": last_seq, "b_gaps": gaps}
        claim_sql.run(session, claim_sql.UPDATE_SEQUENCE, params)
    return missing
