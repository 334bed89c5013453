"""An import's warnings held compactly: one group per (code, reason), record numbers in an ``array('I')``.

A million-row list where every number lost a legacy trunk zero gives a million
``repaired_trunk_zero`` warnings. As objects (a :class:`RejectedRow` each) they
cost some 100 bytes apiece; here each costs the 4 bytes of its record number,
the code and the reason being stored once per group. Warnings come back as
:class:`RejectedRow` one at a time (for ``--json``, streamed) or the first few
(for the printed report and the console).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from itertools import islice

from owner_server.lists.importing.normalise import RejectedRow

__all__ = ["WarningTally"]


class WarningTally:
    """Warnings of imported records, grouped by code and reason.

    Adding keeps the order in which each group was first seen, and the order of
    record numbers within a group; iteration yields group after group.
    """

    __slots__ = ("_groups", "_total")

    def __init__(self, rows: Iterable[RejectedRow] = ()) -> None:
        self._groups: dict[tuple[str, str], array[int]] = {}
        self._total = 0
        self.extend(rows)

    def add(self, row: RejectedRow) -> None:
        """Count one warning (its record number must fit 32 bits, as every file's does)."""
        key = (row.reason_code, row.reason)
        numbers = self._groups.get(key)
        if numbers is None:
            numbers = self._groups[key] = array("I")
        numbers.append(row.record_no)
        self._total += 1

    def extend(self, rows: Iterable[RejectedRow]) -> None:
        """Count every warning of ``rows``."""
        for row in rows:
            self.add(row)

    def __iadd__(self, rows: Iterable[RejectedRow]) -> WarningTally:
        """``report.warnings += chunk.warnings``, as a list would take it."""
        self.extend(rows)
        return self

    def __len__(self) -> int:
        """All warnings counted."""
        return self._total

    def __bool__(self) -> bool:
        """True when any warning was counted."""
        return self._total > 0

    def __iter__(self) -> Iterator[RejectedRow]:
        """Every warning, one :class:`RejectedRow` made at a time (group by group)."""
        for (code, reason), numbers in self._groups.items():
            for record_no in numbers:
                yield RejectedRow(record_no, code, reason)

    def head(self, count: int | None) -> list[RejectedRow]:
        """The first ``count`` warnings of :meth:`__iter__` (all of them when None)."""
        return list(islice(self, count))

    def counts(self) -> dict[str, int]:
        """Warnings per code (``{"repaired_trunk_zero": 999_000, ...}``), in first-seen order."""
        result: dict[str, int] = {}
        for (code, _), numbers in self._groups.items():
            result[code] = result.get(code, 0) + len(numbers)
        return result

    def __eq__(self, other: object) -> bool:
        """Equal when the same warnings were counted in the same order."""
        return isinstance(other, WarningTally) and self._groups == other._groups

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        """Counts per code only (never a record's data: there is none here anyway)."""
        return f"WarningTally({self.counts()!r})"
