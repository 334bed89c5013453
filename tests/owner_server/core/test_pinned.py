"""The pinned session (SQLite agent requests): one connection, its own write transaction, the ORM joining when used."""

from __future__ import annotations

import pytest
from sqlmodel import select

from owner_server.core import prebuilt
from owner_server.core.db import read_only, session_scope, sqlite_writer
from owner_server.core.pinned import pinned_commit, pinned_session
from owner_server.models import Outsourcer
from owner_server.models._common import table_of

_COUNT = select(table_of(Outsourcer).c.id)


def _names(engine) -> list[str]:
    with session_scope(engine) as s:
        return sorted(o.name for o in s.exec(select(Outsourcer)))


def test_an_object_added_without_a_flush_is_committed_with_the_write(installation):
    engine = installation.engine
    with pinned_session(engine) as session, sqlite_writer(engine):
        session.begin_write()
        with pinned_commit(session):
            prebuilt.run(session, _COUNT).all()  # on the cursor: no ORM transaction yet
            assert not session.in_transaction()
            session.add(Outsourcer(name="Added"))  # a cold path: pending, never flushed here
    assert _names(engine) == ["Added"]


def test_an_error_rolls_back_the_orm_part_and_the_connection_part(installation):
    engine = installation.engine
    with pinned_session(engine) as session, sqlite_writer(engine):
        session.begin_write()
        with pytest.raises(ZeroDivisionError), pinned_commit(session):
            session.add(Outsourcer(name="Flushed"))
            session.flush()  # the ORM joined the connection's transaction
            assert session.in_transaction()
            _ = 1 / 0
        assert not session.pinned.in_transaction()
    assert _names(engine) == []


def test_begin_write_once_and_commit_only_after_it(installation):
    engine = installation.engine
    with pinned_session(engine) as session, sqlite_writer(engine):
        with pytest.raises(RuntimeError), pinned_commit(session):
            pass  # no write transaction begun
        session.begin_write()
        with pytest.raises(RuntimeError):
            session.begin_write()
        with pinned_commit(session):
            pass
    with pinned_session(engine) as session:
        assert not session.pinned.in_transaction()  # the pooled connection came back with no transaction open


def test_a_read_through_the_engine_before_the_write_does_not_stop_it(installation):
    """With ``echo`` on, prebuilt statements go through ``Connection.execute``: it begins SQLAlchemy's transaction."""
    engine = installation.engine
    engine.echo = True
    try:
        with pinned_session(engine) as session:
            with read_only(snapshot=False):
                prebuilt.run(session, _COUNT).all()  # autobegun on the connection, no BEGIN sent
            with sqlite_writer(engine):
                session.begin_write()
                with pinned_commit(session):
                    session.add(Outsourcer(name="Echoed"))
    finally:
        engine.echo = False
    assert _names(engine) == ["Echoed"]
