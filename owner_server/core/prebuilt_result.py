"""What :func:`owner_server.core.prebuilt.run` returns: the rows of one statement, fetched at once (issue 11).

The subset of :class:`sqlalchemy.engine.CursorResult` the claim path uses
(``first``, ``one``, ``all``, ``scalar``, ``scalar_one``, ``scalars``,
``rowcount``, iteration); rows are named tuples (attribute access by column
name, unpacking, indexing), with the same Python values SQLAlchemy's result
processors give.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy.exc import MultipleResultsFound, NoResultFound

__all__ = ["PrebuiltResult", "RowShape", "row_shape"]

Processor = Callable[[Any], Any]


class RowShape:
    """How a statement's raw DB-API rows become named tuples: the tuple class and each column's result processor.

    Attributes:
        make: Builds one row from a sequence of processed values (``namedtuple._make``).
        processors: ``(column index, processor)`` for the columns that have one.
        fields: The column names, as the cursor describes them (SQLAlchemy's row keys).
    """

    __slots__ = ("fields", "make", "processors")

    def __init__(self, fields: tuple[str, ...], processors: tuple[tuple[int, Processor], ...]) -> None:
        self.fields = fields
        self.make: Callable[[Sequence[Any]], tuple[Any, ...]] = namedtuple("Row", fields, rename=True)._make  # type: ignore[attr-defined]  # noqa: PYI024
        self.processors = processors

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The processed rows of ``raw`` (a DB-API ``fetchall()``)."""
        make = self.make
        if not self.processors:
            return [make(r) for r in raw]
        out = []
        for r in raw:
            values = list(r)
            for i, process in self.processors:
                values[i] = process(values[i])
            out.append(make(values))
        return out


def row_shape(description: Sequence[Sequence[Any]], processors: Sequence[Processor | None]) -> RowShape:
    """A :class:`RowShape` from a cursor's ``description`` and one result processor (or None) per column."""
    fields = tuple(str(d[0]) for d in description)
    return RowShape(fields, tuple((i, p) for i, p in enumerate(processors) if p is not None))


class _Scalars:
    """The first column of each row (``PrebuiltResult.scalars()``)."""

    __slots__ = ("_values",)

    def __init__(self, values: list[Any]) -> None:
        self._values = values

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def all(self) -> list[Any]:
        """Every value."""
        return list(self._values)

    def first(self) -> Any:
        """The first value, or None."""
        return self._values[0] if self._values else None

    def one(self) -> Any:
        """The only value; raises like :meth:`PrebuiltResult.one`."""
        return _only(self._values)


def _only(values: list[Any]) -> Any:
    if not values:
        raise NoResultFound("No row was found when one was required")
    if len(values) > 1:
        raise MultipleResultsFound("Multiple rows were found when exactly one was required")
    return values[0]


class PrebuiltResult:
    """The rows (all fetched) and row count of one statement run below the engine.

    Attributes:
        rowcount: The DB-API cursor's ``rowcount`` (rows an UPDATE/DELETE matched; -1 when not known).
    """

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._rows)

    def all(self) -> list[tuple[Any, ...]]:
        """Every row."""
        return list(self._rows)

    fetchall = all

    def first(self) -> tuple[Any, ...] | None:
        """The first row, or None."""
        return self._rows[0] if self._rows else None

    def one(self) -> tuple[Any, ...]:
        """The only row.

        Raises:
            NoResultFound: No row.
            MultipleResultsFound: More than one.
        """
        row: tuple[Any, ...] = _only(self._rows)
        return row

    def one_or_none(self) -> tuple[Any, ...] | None:
        """The only row or None; raises :class:`MultipleResultsFound` for more than one."""
        return None if not self._rows else self.one()

    def scalar(self) -> Any:
        """The first column of the first row, or None."""
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        """The first column of the only row; raises like :meth:`one`."""
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        """The first column of the only row, or None; raises :class:`MultipleResultsFound` for more than one."""
        row = self.one_or_none()
        return None if row is None else row[0]

    def scalars(self) -> _Scalars:
        """The first column of each row."""
        return _Scalars([r[0] for r in self._rows])
