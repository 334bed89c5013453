"""SQLite: one request on one pooled connection, its transaction run on the connection, the ORM joining only if used.

An agent request on SQLite (:meth:`owner_server.api.state.ServerState.agent_transaction`)
runs its statements through :func:`owner_server.core.prebuilt.run`, below the
ORM. A :class:`PinnedSession` is a :class:`~sqlmodel.Session` bound to one
:class:`~sqlalchemy.engine.Connection` checked out for the request: the
prebuilt statements run on that connection (:meth:`PinnedSession.connection`
begins no ORM transaction), the write transaction is the connection's own
(:meth:`PinnedSession.begin_write`: ``BEGIN IMMEDIATE``), ended by one commit
(:func:`pinned_commit`). The ORM's transaction machinery (its begin, snapshot,
commit and close, some 80 µs a request) runs only when a cold path uses the
ORM (``session.get``, ``add``, ``flush``): its transaction then joins the
connection's (``join_transaction_mode="rollback_only"``), so everything is
still in the one write transaction and one commit.

Nothing is weaker than on the ORM's path: the same statements, the same
``BEGIN IMMEDIATE`` under :func:`~owner_server.core.db.sqlite_writer`, the same
durability (the connection's pragmas), and a refused token stops before the
write transaction begins.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine, RootTransaction
from sqlmodel import Session

from owner_server.core import prebuilt
from owner_server.core.db import read_only
from owner_server.core.deferred import DeferredError

__all__ = ["PinnedSession", "pinned_commit", "pinned_session"]


class PinnedSession(Session):
    """A session bound to one checked-out connection whose transaction the request runs itself.

    Args:
        connection: The request's connection (not in a transaction yet).

    Attributes:
        pinned: That connection.
        write: The connection's write transaction once :meth:`begin_write` began it, else None.
    """

    def __init__(self, connection: Connection) -> None:
        super().__init__(bind=connection, expire_on_commit=False, join_transaction_mode="rollback_only")
        self.pinned = connection
        self.write: RootTransaction | None = None

    def connection(self, bind_arguments: Any = None, execution_options: Any = None) -> Connection:
        """The pinned connection, without beginning an ORM transaction (arguments given: the ORM's own answer)."""
        if bind_arguments is None and execution_options is None:
            return self.pinned
        return super().connection(bind_arguments, execution_options)

    def begin_write(self) -> None:
        """Begin the write transaction on the pinned connection (SQLite: ``BEGIN IMMEDIATE``, the engine's ``begin``).

        Hold :func:`~owner_server.core.db.sqlite_writer` around it and :func:`pinned_commit`.

        Raises:
            RuntimeError: A transaction was begun already (on the connection or by the ORM).
        """
        pinned = self.pinned
        if self.write is None and pinned.in_transaction() and not self.in_transaction():
            dbapi = pinned.connection.dbapi_connection
            if not getattr(dbapi, "in_transaction", True):  # a fallback read's autobegun shell, no BEGIN sent:
                pinned.commit()  # (read_only(snapshot=False)); ended, a no-op at the driver
        if self.write is not None or pinned.in_transaction() or self.in_transaction():
            raise RuntimeError("begin_write: the pinned connection is in a transaction already")
        with read_only(snapshot=False):  # SQLAlchemy's transaction, no BEGIN sent by the engine's begin hook ...
            write = pinned.begin()
        try:
            prebuilt.send(pinned, "BEGIN IMMEDIATE")  # ... but this one, on the cursor (counted like every statement)
        except BaseException:
            write.rollback()
            raise
        self.write = write

    def transaction_key(self) -> RootTransaction | None:
        """The write transaction (what values remembered for one transaction are kept beside), or None."""
        write = self.write
        return write if write is not None and write.is_active else None


@contextmanager
def pinned_session(engine: Engine) -> Iterator[PinnedSession]:
    """Check out one connection for a request and bind a :class:`PinnedSession` to it; both closed at the end.

    Whatever runs before :meth:`PinnedSession.begin_write` is its own implicit
    read transaction per statement (no ``BEGIN``, no write lock). A
    transaction still open at the end is rolled back (the pool's reset).
    """
    connection = engine.connect()
    try:
        session = PinnedSession(connection)
        try:
            yield session
        finally:
            if _orm_used(session):
                session.close()
    finally:
        connection.close()


def _orm_used(session: PinnedSession) -> bool:
    """Whether the ORM holds anything of the session: a transaction, loaded or pending objects."""
    # ``_new``/``_deleted``: the dicts behind ``Session.new``/``deleted`` (those build a set per call)
    return session.in_transaction() or bool(session.identity_map) or bool(session._new) or bool(session._deleted)


@contextmanager
def pinned_commit(session: PinnedSession) -> Iterator[None]:
    """End the write transaction :meth:`PinnedSession.begin_write` began: commit on success and on a DeferredError.

    What the ORM holds, when a cold path used it, is flushed first (its
    transaction joined the connection's). Any other error rolls back.

    Raises:
        CustosError: The error a :class:`DeferredError` carried, after the commit.
        RuntimeError: No write transaction was begun.
    """
    try:
        yield
        _commit(session)
    except DeferredError as deferred:
        _commit(session)
        raise deferred.error from None
    except BaseException:
        if session.in_transaction():
            session.rollback()  # rollback_only: rolls the connection's transaction back too
        write = session.write
        if write is not None and write.is_active:
            write.rollback()
        raise


def _commit(session: PinnedSession) -> None:
    write = session.write
    if write is None:
        raise RuntimeError("pinned_commit: begin_write was not called")
    if _orm_used(session):
        session.commit()  # the ORM's part flushed (rollback_only: the connection's transaction stays open)
    write.commit()
