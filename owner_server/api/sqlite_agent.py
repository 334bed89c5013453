"""SQLite: an agent request's transaction on one pooled connection (``ServerState.agent_transaction``).

The token is read first by one statement in its own implicit read
transaction (:func:`~owner_server.identity.bearer.refuse_unusable`: the token's,
device's and agent's flags; no ``BEGIN``, no write lock: a refused token stops
there, never waiting for or taking the write lock). Then, holding the process's writer
turn (:func:`~owner_server.core.db.sqlite_writer`), ``BEGIN IMMEDIATE`` on the
same connection and the same statement again under the write lock
(:func:`~owner_server.identity.bearer.confirm`); the caller's work (limits,
rules, issuance, audit) is in that one write transaction, ended by one
commit. The session is a :class:`~owner_server.core.pinned.PinnedSession`:
the ORM's transaction machinery runs only if a cold path uses the ORM, and
then inside the same write transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session

from owner_server.core.db import read_only, sqlite_writer
from owner_server.core.pinned import pinned_commit, pinned_session
from owner_server.identity.bearer import AgentPrincipal, confirm, refuse_unusable

__all__ = ["sqlite_agent_transaction"]


@contextmanager
def sqlite_agent_transaction(engine: Engine, *, token: str, address: str) -> Iterator[tuple[Session, AgentPrincipal]]:
    """One agent request's write transaction on SQLite, with the agent the bearer token authenticates.

    Args:
        engine: A SQLite engine (:func:`~owner_server.core.db.make_engine`).
        token: The request's bearer token.
        address: The client's address (checked against the outsourcer's networks).

    Yields:
        The transaction (a :class:`~owner_server.core.pinned.PinnedSession`) and the authenticated agent.

    Raises:
        AuthError: Unknown, revoked or expired token, or revoked device (before or under the write lock).
        ForbiddenError: Suspended account, or an address outside the site's networks.
    """
    with pinned_session(engine) as session:
        with read_only(snapshot=False):  # one statement, its own read transaction: no BEGIN, no write lock
            refuse_unusable(session, token=token)  # a refusal ends here: nothing was begun
        with sqlite_writer(engine), pinned_commit(session):
            yield session, confirm(session, token=token, address=address)
