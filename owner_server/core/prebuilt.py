"""Prebuilt Core statements run on the DB-API cursor, below SQLAlchemy's engine (issue 11, the claim path).

``Connection.execute`` costs some 20 µs a statement on SQLite (cache key,
execution context, result set-up), this runner some 9, the bare driver 2-3
(``bench/README.md``). A
statement built once per process is compiled here once per dialect (and, for
an INSERT/UPDATE, per set of parameter names; for an expanding ``IN``, per
list length), into a :class:`_Plan`: the SQL text, the order of its bound
values (positional for SQLite's ``qmark``, names for psycopg's ``pyformat``),
each value's bind processor (``TypeEngine.bind_processor`` of the dialect's
type: what SQLAlchemy itself applies, so the stored values are the same bytes)
and the result columns' processors (``result_processor``: the same Python
values back). :func:`run` then executes it on the DB-API cursor of the
session's connection, in its transaction, and reports each statement to the
engine's ``before_cursor_execute`` / ``after_cursor_execute`` listeners
(so a statement counter still sees every one; ``context`` is None).

Falls back to ``Connection.execute`` (same results, SQLAlchemy's cost) for:
an engine with ``echo`` on (its log), an empty list of parameter sets, an
empty list for an expanding ``IN``, a statement with Python-side column
defaults to fill (``insert_prefetch``/``update_prefetch``), literal-execute or
callable bind values, escaped bind names, a missing parameter (SQLAlchemy
raises its usual error), and statements past the first :data:`MAX_PLANS` seen
(not prebuilt). Values set with ``.params()`` are bound as SQLAlchemy binds
them: under the call's own, over a ``bindparam``'s ``value``. A ``text()`` statement's rows are the driver's values, as
through SQLAlchemy (no column types to process them with).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Session

from owner_server.core.prebuilt_result import PrebuiltResult, Processor, RowShape, row_shape

__all__ = ["MAX_PLANS", "run", "send"]

#: Plans kept per dialect; statements beyond are run through ``Connection.execute`` (they are not prebuilt).
MAX_PLANS = 512
Params = Mapping[str, Any]
#: One bound value: (name in the SQL, parameter it comes from, index into its list for an expanded ``IN``,
#: default, processor).
_Slot = tuple[str, str, int | None, Any, Processor | None]
_REQUIRED = object()
_FALLBACK = None


class _Plan:
    """One statement compiled for one dialect: its SQL, how to bind its values, how to read its rows."""

    __slots__ = (
        "coded",
        "column_types",
        "indexed",
        "named",
        "names",
        "pairs",
        "processed",
        "required",
        "shapes",
        "sql",
    )

    def __init__(self, sql: str, slots: list[_Slot], named: bool, column_types: list[Any], coded: bool = True) -> None:
        self.sql = sql
        self.named = named
        self.column_types = column_types
        #: Whether the driver's cursor description carries type codes (sqlite3's are all None: one shape).
        self.coded = coded
        self.shapes: dict[Any, RowShape] = {}
        self.names = [slot[0] for slot in slots]
        self.pairs = [(key, default) for _name, key, _index, default, _process in slots]
        self.required = frozenset(key for _name, key, _index, default, _process in slots if default is _REQUIRED)
        self.indexed = [(i, slot[2]) for i, slot in enumerate(slots) if slot[2] is not None]
        self.processed = [(i, slot[4]) for i, slot in enumerate(slots) if slot[4] is not None]

    def bind(self, params: Params) -> Any:
        """The DB-API parameters (tuple for ``qmark``, dict for ``pyformat``); KeyError for a missing value."""
        if not params.keys() >= self.required:
            raise KeyError(min(self.required - params.keys()))
        get = params.get
        values = [get(key, default) for key, default in self.pairs]
        for i, index in self.indexed:
            values[i] = values[i][index]
        for i, process in self.processed:
            values[i] = process(values[i])
        if self.named:
            return dict(zip(self.names, values, strict=True))
        return tuple(values)

    def shape(self, dialect: Dialect, description: Sequence[Sequence[Any]]) -> RowShape:
        """The row shape for this cursor description (built once per set of DB-API type codes)."""
        codes: Any = tuple(d[1] for d in description) if self.coded else len(description)
        found = self.shapes.get(codes)
        if found is None:
            types = self.column_types
            assert not types or len(types) == len(description), "result columns differ from selected_columns"
            pairs = zip(types, [d[1] for d in description], strict=False)
            processors = [t.dialect_impl(dialect).result_processor(dialect, c) for t, c in pairs]
            found = self.shapes[codes] = row_shape(description, processors)
        return found


class _Entry:
    """A statement compiled for one dialect and set of parameter names; a plan per length of its expanding lists."""

    __slots__ = ("compiled", "defaults", "expanding", "plans", "stmt")

    def __init__(self, stmt: Any, compiled: SQLCompiler | None) -> None:
        self.stmt = stmt  # kept alive: the cache is keyed by id()
        self.compiled = compiled
        expanding = [] if compiled is None else [b for b in compiled.bind_names if b.expanding]
        self.expanding = tuple(compiled.bind_names[b] for b in expanding) if compiled is not None else ()
        #: Each expanding parameter's own list (a constant ``IN`` or ``.params()``), or None when it must be given.
        self.defaults = tuple(_default(compiled, b, None) for b in expanding) if compiled is not None else ()
        self.plans: dict[tuple[int, ...], _Plan | None] = {}


def _default(compiled: SQLCompiler, bind: BindParameter[Any], required: Any) -> Any:
    """A bound parameter's value when the call gives none: the statement's ``.params()``, its own, or ``required``.

    SQLAlchemy's precedence: the call's values, then ``.params()``, then ``bindparam(value=...)``.
    """
    collected = _collected(compiled)
    key = compiled.bind_names[bind]
    if key in collected:
        return collected[key]
    return required if bind.required else bind.value


def _collected(compiled: SQLCompiler) -> Mapping[str, Any]:
    """The values ``.params()`` set on the statement and the statements inside it, as SQLAlchemy collected them."""
    return getattr(compiled, "_collected_params", None) or {}


_ENTRIES: weakref.WeakKeyDictionary[Dialect, dict[tuple[Any, ...], _Entry]] = weakref.WeakKeyDictionary()


def _compile(dialect: Dialect, stmt: Any, keys: list[str] | None, many: bool) -> SQLCompiler | None:
    compiled = stmt.compile(dialect=dialect, column_keys=keys, for_executemany=many)
    if not isinstance(compiled, SQLCompiler) or (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.literal_execute_params
        or compiled.escaped_bind_names
        or any(b.callable is not None for b in compiled.bind_names)
        or (not hasattr(compiled, "_collected_params") and getattr(stmt, "_params", None))
    ):  # the last: a SQLAlchemy that keeps ``.params()`` elsewhere (they would be lost here): it binds them itself
        return _FALLBACK
    return compiled


def _expand(dialect: Dialect, stmt: Any, compiled: SQLCompiler, lengths: dict[str, int]) -> _Plan:
    """The plan for these lengths of the expanding lists (none: the statement as compiled)."""
    binds = {compiled.bind_names[b]: b for b in compiled.bind_names}
    dummy = {key: [None] * lengths[key] if key in lengths else None for key, b in binds.items() if b.required}
    state = compiled.construct_expanded_state(dummy)
    origin = {name: (key, i) for key, names in state.parameter_expansion.items() for i, name in enumerate(names)}
    order = state.positiontup if state.positiontup is not None else list(state.parameters)
    slots: list[_Slot] = []
    for name in order:
        key, index = origin.get(name, (name, None))
        bind = binds[key]
        default = _default(compiled, bind, _REQUIRED)
        slots.append((name, key, index, default, bind.type.dialect_impl(dialect).bind_processor(dialect)))
    columns = getattr(stmt, "selected_columns", None)
    types = [c.type for c in columns] if columns is not None else []
    return _Plan(state.statement, slots, state.positiontup is None, types, coded=dialect.name != "sqlite")


#: The dialect last planned for and its entries (a lookup in the weak dictionary saved per statement).
_LAST: tuple[Dialect | None, dict[tuple[Any, ...], _Entry]] = (None, {})


def _plan(dialect: Dialect, stmt: Any, first: Params, many: bool) -> _Plan | None:
    global _LAST  # noqa: PLW0603  # one tuple, replaced whole (atomic for threads)
    last = _LAST
    if last[0] is dialect:
        entries = last[1]
    else:
        entries = _ENTRIES.get(dialect)  # type: ignore[assignment]
        if entries is None:
            entries = _ENTRIES.setdefault(dialect, {})
        _LAST = (dialect, entries)
    names = tuple(first) if stmt.is_dml else None  # an INSERT's or UPDATE's columns follow the names given
    key = (id(stmt), many, names)
    entry = entries.get(key)
    if entry is None or entry.stmt is not stmt:  # new, or a new statement at a dead one's id
        if len(entries) >= MAX_PLANS:
            return _FALLBACK
        keys = sorted(names) if names is not None else None  # as SQLAlchemy compiles it
        entry = entries[key] = _Entry(stmt, _compile(dialect, stmt, keys, many))
    compiled = entry.compiled
    if compiled is None:
        return _FALLBACK
    if not entry.expanding:
        found = entry.plans.get(())
        if found is not None:
            return found
    try:
        lengths = tuple(len(first.get(k, d)) for k, d in zip(entry.expanding, entry.defaults, strict=True))
    except TypeError:  # not a list (or a required one missing): SQLAlchemy decides
        return _FALLBACK
    try:
        return entry.plans[lengths]
    except KeyError:
        if 0 in lengths or len(entry.plans) >= MAX_PLANS:  # an empty IN: SQLAlchemy's empty-set expression
            return _FALLBACK
        plan = entry.plans[lengths] = _expand(dialect, stmt, compiled, dict(zip(entry.expanding, lengths, strict=True)))
        return plan


def run(session: Session, stmt: Executable, params: Params | Sequence[Params] | None = None) -> Any:
    """Execute a prebuilt statement on the DB-API cursor of the session's connection, in its transaction.

    A list of parameter sets is run with ``executemany`` (one set: ``execute``,
    as SQLAlchemy does). Driver errors are raised as SQLAlchemy's
    (:class:`sqlalchemy.exc.DBAPIError` subclasses, e.g. ``IntegrityError``).

    Args:
        session: The session whose connection (and transaction) runs the statement.
        stmt: A statement built once per process (not per call).
        params: One parameter set, several, or None.

    Returns:
        A :class:`~owner_server.core.prebuilt_result.PrebuiltResult` (rows fetched at once), or on the
        fallback paths (module docstring) SQLAlchemy's ``CursorResult``.
    """
    conn = session.connection()
    many = params is not None and type(params) is not dict and not isinstance(params, Mapping)
    sets: Sequence[Params] = params if many else [params or {}]  # type: ignore[assignment,list-item]
    if many and len(sets) == 1:
        many = False
    dialect = conn.dialect
    plan = _plan(dialect, stmt, sets[0], many) if sets and not conn.engine.echo else _FALLBACK
    if plan is None:
        return conn.execute(stmt, params)
    try:
        bound: Any = [plan.bind(p) for p in sets] if many else plan.bind(sets[0])
    except (KeyError, IndexError, TypeError):
        return conn.execute(stmt, params)  # SQLAlchemy's own error for a missing or malformed value
    return _execute(conn, dialect, plan, bound, many)


def send(conn: Connection, sql: str) -> None:
    """Send one SQL text without parameters on the DB-API cursor of ``conn`` (e.g. SQLite's ``BEGIN IMMEDIATE``).

    Reported to the engine's cursor-execute listeners like :func:`run`'s statements; the
    connection's transaction state in SQLAlchemy is the caller's to keep right.

    Raises:
        sqlalchemy.exc.DBAPIError: The driver's error (e.g. ``OperationalError: database is locked``).
    """
    _execute(conn, conn.dialect, _Plan(sql, [], False, []), (), False)


def _execute(conn: Connection, dialect: Dialect, plan: _Plan, bound: Any, many: bool) -> PrebuiltResult:
    dbapi_conn = conn.connection.dbapi_connection
    assert dbapi_conn is not None
    cursor = dbapi_conn.cursor()
    sql = plan.sql
    try:
        before = conn.dispatch.before_cursor_execute
        if before:  # listeners (a statement counter) see every statement, as through Connection.execute
            for listener in before:
                sql, bound = listener(conn, cursor, sql, bound, None, many)
        if many:
            cursor.executemany(sql, bound)
        else:
            cursor.execute(sql, bound)
        after = conn.dispatch.after_cursor_execute
        if after:
            for listener in after:
                listener(conn, cursor, sql, bound, None, many)
        description = cursor.description
        rows = plan.shape(dialect, description).rows(cursor.fetchall()) if description else []
        return PrebuiltResult(rows, cursor.rowcount)
    except dialect.loaded_dbapi.Error as error:
        invalidated = dialect.is_disconnect(error, dbapi_conn, cursor)
        if invalidated:
            conn.invalidate(error)
        raise exc.DBAPIError.instance(
            sql,
            bound,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=conn.engine.hide_parameters,
            connection_invalidated=invalidated,
            dialect=dialect,
            ismulti=many,
        ) from error
    finally:
        cursor.close()
