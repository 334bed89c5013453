"""Engine and session construction for SQLite (WAL) and PostgreSQL.

SQLite transactions start with ``BEGIN IMMEDIATE`` so two writers never
deadlock on a lock upgrade, and wait (busy timeout) rather than fail; short
write transactions keep agents' requests from ever seeing a locked database.
A read-only part of a request runs in a deferred (``BEGIN``) transaction
inside :func:`read_only`, so it never takes the write lock. The threads of one
process queue for the write lock on :func:`sqlite_writer` (woken as soon as it
is free) instead of in SQLite's busy handler, which sleeps 1 to 100 ms between
tries; other processes still wait in the busy handler.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

__all__ = ["begin_write", "is_sqlite", "make_engine", "read_only", "session_scope", "sqlite_writer"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: "": a write transaction (``BEGIN IMMEDIATE``); "deferred": a read snapshot (``BEGIN``); "autocommit": no ``BEGIN``.
_READ_ONLY: ContextVar[str] = ContextVar("custos_read_only", default="")
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()
#: ``Connection.info`` key: the mode the connection's current transaction began in (a ``_READ_ONLY`` value).
_BEGUN = "custos.begun"


def is_sqlite(engine: Engine) -> bool:
    """Tell whether an engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine with the pragmas and pool Custos relies on.

    Args:
        url: SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``).
        echo: Log SQL (never enable in production: parameters are ciphertexts,
            but statements reveal structure).

    Returns:
        The engine, with ``hide_parameters``: a driver error's message (and so
        a traceback in the server's log) names the statement, never its bound
        values (a token's hash, a login, a ciphertext).
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(url, echo=echo, hide_parameters=True, connect_args=connect_args)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = _READ_ONLY.get()
        conn.info[_BEGUN] = mode
        if mode != "autocommit":  # else each statement is its own read transaction (the driver's COMMIT is a no-op)
            conn.exec_driver_sql("BEGIN" if mode else "BEGIN IMMEDIATE")


@contextmanager
def read_only(*, snapshot: bool = True) -> Iterator[None]:
    """Transactions begun inside start deferred on SQLite (a read snapshot, no write lock).

    Only for work that reads: a write in such a transaction may fail with
    ``database is locked`` instead of waiting. No effect on PostgreSQL.

    Args:
        snapshot: False for a transaction of one statement: no ``BEGIN`` is
            sent, the statement is its own (implicit) read transaction, which
            saves the ``BEGIN`` and ``COMMIT`` round trips.
    """
    token = _READ_ONLY.set("deferred" if snapshot else "autocommit")
    try:
        yield
    finally:
        _READ_ONLY.reset(token)


def begin_write(session: Session) -> None:
    """SQLite: turn the session's transaction, begun in :func:`read_only` ``(snapshot=False)``, into a write one.

    Sends ``BEGIN IMMEDIATE`` on the connection the session already holds: what
    was read before ran in its own implicit read transaction (no ``BEGIN``, no
    write lock); from here on the session writes in one transaction that the
    session's commit ends, on the same pooled connection (no second checkout,
    no second commit). Hold :func:`sqlite_writer` around it and the commit.

    Args:
        session: A session whose current transaction began inside ``read_only(snapshot=False)``.

    Raises:
        RuntimeError: The session's transaction did not begin that way (it may have sent ``BEGIN`` already).
    """
    connection = session.connection()
    if connection.info.get(_BEGUN) != "autocommit":
        raise RuntimeError("begin_write: the session's transaction did not begin in read_only(snapshot=False)")
    connection.info[_BEGUN] = ""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def sqlite_writer(engine: Engine) -> contextlib.AbstractContextManager[Any]:
    """Hold this process's turn at the SQLite write lock (re-entrant; nothing on PostgreSQL).

    Wrap a whole write transaction, its commit included: the next thread then
    begins as soon as this one committed, rather than retrying in SQLite's
    busy handler.
    """
    if not is_sqlite(engine):
        return nullcontext()
    with _WRITERS_LOCK:
        lock = _WRITERS.get(engine)
        if lock is None:
            lock = _WRITERS[engine] = threading.RLock()
    return lock


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def snapshot_session(engine: Engine) -> Iterator[Session]:
    """A read-only session on one consistent snapshot, rolled back at the end.

    PostgreSQL: a ``REPEATABLE READ READ ONLY`` transaction (every statement sees the state at
    its first one, whatever commits meanwhile). SQLite: a deferred transaction (no write lock;
    in WAL mode its first read fixes the snapshot).
    """
    with read_only(), Session(engine, expire_on_commit=False) as session:
        if not is_sqlite(engine):
            session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})
        try:
            yield session
        finally:
            session.rollback()
