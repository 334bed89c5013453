"""A driver error names its statement, never its bound values: every engine the server makes hides them.

Not covered (the database's own words, not a bound value): PostgreSQL's ``DETAIL`` of a unique violation quotes the
duplicate key, and psycopg puts it in the error's text.
"""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, column, exc, select, table, text
from sqlmodel import Session

from owner_server.core import prebuilt
from owner_server.models import Device
from owner_server.models._common import table_of

MARKER = "hidden-marker-5e3c9a"
#: No such table on either database: the driver refuses the statement, with its bound value.
MISSING = select(column("x")).select_from(table("no_such_table_here")).where(column("x") == bindparam("b_value"))


def _assert_hidden(error: BaseException) -> None:
    assert isinstance(error, exc.DBAPIError)
    assert MARKER not in str(error) and MARKER not in repr(error)
    assert "parameters hidden" in str(error)  # SQLAlchemy's own words: the statement is named, its values not


def test_the_prebuilt_runner_hides_a_failing_statements_values(any_installation):
    with Session(any_installation.engine) as session, pytest.raises(exc.DBAPIError) as failed:
        prebuilt.run(session, MISSING, {"b_value": MARKER})
    _assert_hidden(failed.value)


def test_an_orm_statement_hides_a_failing_statements_values(any_installation):
    """``Session.get`` of a table renamed away in this transaction (rolled back): the driver refuses it."""
    device = table_of(Device).name
    with Session(any_installation.engine) as session:
        session.execute(text(f'ALTER TABLE "{device}" RENAME TO "{device}_away"'))
        with pytest.raises(exc.DBAPIError) as failed:
            session.get(Device, MARKER)
        session.rollback()
    _assert_hidden(failed.value)


def test_every_engine_of_an_installation_hides_parameters(any_installation):
    assert any_installation.engine.hide_parameters is True
