"""Values remembered for one transaction of a session: gone when it commits or rolls back.

Kept in ``session.info`` beside the transaction they belong to, so a value is
never read in a later transaction (where what it says may have changed).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

__all__ = ["AGENT_CONFIRMED", "recall", "remember"]

#: The agent id whose token, device and ``suspended`` flag ``identity.bearer.confirm`` read in this transaction.
AGENT_CONFIRMED = "custos.agent_confirmed"


def remember(session: Session, key: str, value: Any) -> None:
    """Keep ``value`` under ``key`` for the session's current transaction."""
    session.info[key] = (session.get_transaction(), value)


def recall(session: Session, key: str) -> Any | None:
    """The value kept under ``key`` in the session's current transaction, or None."""
    held = session.info.get(key)
    transaction = session.get_transaction()
    if held is None or transaction is None or held[0] is not transaction:
        return None
    return held[1]
