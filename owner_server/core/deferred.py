"""An error whose transaction must still commit.

Some refusals change state that must survive them: the audit entry of a
failed login, an expired lease being closed. A service raises
``DeferredError(error)``; the request's transaction
(``ServerState.transaction``) commits, then returns the wrapped error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session

from owner_server.core.db import sqlite_writer
from shared.errors import CustosError

__all__ = ["DeferredError", "deferred_commit", "request_transaction"]


class DeferredError(Exception):
    """Carries ``error``; the surrounding transaction commits before it is raised.

    Args:
        error: The domain error the caller finally gets.
    """

    def __init__(self, error: CustosError) -> None:
        super().__init__(error.message)
        self.error = error


@contextmanager
def deferred_commit(session: Session) -> Iterator[None]:
    """End the session's current transaction: commit on success and on :class:`DeferredError`, else roll back.

    Raises:
        CustosError: The error a :class:`DeferredError` carried, after the commit.
    """
    try:
        yield
        session.commit()
    except DeferredError as deferred:
        session.commit()
        raise deferred.error from None
    except BaseException:
        session.rollback()
        raise


@contextmanager
def request_transaction(engine: Engine) -> Iterator[Session]:
    """One request's transaction: committed before the response is sent.

    A :class:`DeferredError` commits (its audit entry must survive) and then
    raises the error it carries; any other error rolls back. On SQLite the
    transaction holds this process's writer turn (:func:`~owner_server.core.db.sqlite_writer`).
    """
    with sqlite_writer(engine), Session(engine, expire_on_commit=False) as session, deferred_commit(session):
        yield session
