"""Values remembered for one transaction of a session: gone when it commits or rolls back.

Kept in ``session.info`` beside the transaction they belong to, so a value is
never read in a later transaction (where what it says may have changed).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from owner_server.core.pinned import PinnedSession

__all__ = ["AGENT_CONFIRMED", "current_transaction", "recall", "remember"]

#: The agent id whose token, device and ``suspended`` flag ``identity.bearer.confirm`` read in this transaction.
AGENT_CONFIRMED = "custos.agent_confirmed"


def current_transaction(session: Session) -> object | None:
    """What identifies the session's current transaction (None: none begun).

    The ORM's root transaction; for a :class:`~owner_server.core.pinned.PinnedSession`
    its connection's write transaction (the ORM's, when a cold path used it, is part of that one).
    """
    if isinstance(session, PinnedSession):
        return session.transaction_key()
    return session.get_transaction()


def remember(session: Session, key: str, value: Any) -> None:
    """Keep ``value`` under ``key`` for the session's current transaction (nothing when none is begun)."""
    transaction = current_transaction(session)
    if transaction is not None:
        session.info[key] = (transaction, value)


def recall(session: Session, key: str) -> Any | None:
    """The value kept under ``key`` in the session's current transaction, or None."""
    held = session.info.get(key)
    transaction = current_transaction(session)
    if held is None or transaction is None or held[0] is not transaction:
        return None
    return held[1]
