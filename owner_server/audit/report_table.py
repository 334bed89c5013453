"""A report as a table of text cells: the header and one row per figure, for CSV and XLSX files.

The CLI's ``report agents|hourly --csv`` and the console's downloads write
the same table, so a file from either has the same columns: ``hour_utc``
(hourly only, ISO 8601), ``login``, ``outsourcer``, ``issued``,
``displayed``, one ``outcome:<code>`` per code present, ``median_handling_s``,
``blocked``, ``alerts`` and ``suspended`` (``yes``/``no``). Cells are plain
text; the writer (:func:`owner_server.lists.export.write_csv` or
:func:`~owner_server.lists.export.write_xlsx`) makes them formula-safe.
"""

from __future__ import annotations

from collections.abc import Sequence

from owner_server.audit.reports import AgentFigures

__all__ = ["outcome_codes", "report_cells", "report_header", "report_table"]


def outcome_codes(rows: Sequence[AgentFigures]) -> list[str]:
    """Every disposition code in ``rows``, sorted (one column each)."""
    return sorted({code for r in rows for code in r.outcomes})


def report_header(codes: Sequence[str], *, hourly: bool) -> list[str]:
    """The column names for ``codes`` (see the module docstring)."""
    head = ["hour_utc"] if hourly else []
    head += ["login", "outsourcer", "issued", "displayed", *[f"outcome:{c}" for c in codes]]
    return [*head, "median_handling_s", "blocked", "alerts", "suspended"]


def report_cells(row: AgentFigures, codes: Sequence[str], *, hourly: bool) -> list[str]:
    """One row's cells, in :func:`report_header` order."""
    cells = [row.hour.isoformat()] if hourly and row.hour else []
    cells += [row.login, row.outsourcer, str(row.issued), str(row.displayed)]
    cells += [str(row.outcomes.get(c, 0)) for c in codes]
    median = "" if row.median_handling_s is None else f"{row.median_handling_s:g}"
    return [*cells, median, str(row.blocked), str(row.alerts), "yes" if row.suspended else "no"]


def report_table(rows: Sequence[AgentFigures], *, hourly: bool) -> list[list[str]]:
    """The header then every row of a report, as text cells.

    Args:
        rows: From :func:`~owner_server.audit.reports.agent_report` or
            :func:`~owner_server.audit.reports.hourly_report`.
        hourly: Whether the rows are per hour (adds ``hour_utc``).

    Returns:
        ``[header, *rows]``.
    """
    codes = outcome_codes(rows)
    return [report_header(codes, hourly=hourly), *(report_cells(r, codes, hourly=hourly) for r in rows)]
