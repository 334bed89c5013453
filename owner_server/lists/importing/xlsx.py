"""Rows of the first worksheet of an .xlsx workbook, as text, streamed.

openpyxl's read-only mode parses the sheet XML as it goes, so memory stays flat.
The stored dimension of the sheet is ignored (some writers store a wrong one and
openpyxl would silently stop there). Every cell becomes text the way a person
reads it in Excel, without float artefacts: ``48500000071.0`` is
``"48500000071"``, a date is ``"2024-03-01"``, an empty cell is ``""``. A cell
shown in scientific format still stores all its digits, so it is exact here.

openpyxl warns about workbook features it does not read (styles, extensions,
data validation); they do not affect cell values and are silenced only around
openpyxl's own calls.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Generator, Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from owner_server.lists.importing.errors import ImportFileError

__all__ = ["cell_text", "xlsx_rows"]

_BATCH = 512


def cell_text(value: object) -> str:
    """The text of one cell value as openpyxl returns it.

    Args:
        value: None, str, bool, int, float, datetime, date, time or timedelta.

    Returns:
        The text; integral numbers without ``.0``, dates in ISO 8601.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        if value.time() == time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


#: Most columns a contact sheet may have; a wider row is refused, not truncated.
MAX_COLUMNS = 1000
#: Largest total uncompressed size of a workbook's parts, in bytes.
MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
#: Largest compression ratio of a part over :data:`_RATIO_CHECK_BYTES` (real sheets stay far below).
MAX_COMPRESSION_RATIO = 100
_RATIO_CHECK_BYTES = 20 * 1024**2


def _check_zip(path: Path) -> None:
    """Refuse decompression bombs before openpyxl inflates anything.

    Raises:
        ImportFileError: The parts are too large in total, or one expands suspiciously.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (OSError, zipfile.BadZipFile) as exc:
        raise ImportFileError("The file could not be read as an .xlsx workbook (damaged or another format).") from exc
    if sum(info.file_size for info in infos) > MAX_UNCOMPRESSED_BYTES:
        raise ImportFileError("The workbook expands to more than 2 GiB; split it or export it as CSV.")
    for info in infos:
        if info.file_size > _RATIO_CHECK_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise ImportFileError("The workbook has a part that expands abnormally (a decompression bomb?); refused.")


def _open(path: Path) -> Any:
    _check_zip(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, SyntaxError) as exc:
        # SyntaxError: malformed XML parts (xml.etree ParseError, lxml XMLSyntaxError), e.g. entity expansion.
        raise ImportFileError(
            "The file could not be read as an .xlsx workbook (damaged, password-protected or another format)."
        ) from exc


def _batch(rows: Iterator[tuple[object, ...]]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for values in rows:
            out.append(tuple(cell_text(v) for v in values))
            if len(out) == _BATCH:
                break
    return out


def _bounded(rows: Iterator[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
    for values in rows:
        if len(values) > MAX_COLUMNS and any(v not in (None, "") for v in values[MAX_COLUMNS:]):
            raise ImportFileError(
                f"The sheet has more than {MAX_COLUMNS} columns; a contact list never needs that many."
            )
        end = min(len(values), MAX_COLUMNS)
        while end and values[end - 1] is None:  # max_col pads every row; keep rows ragged as before
            end -= 1
        yield values[:end]


def xlsx_rows(path: Path) -> Generator[tuple[str, ...], None, None]:
    """Every row of the first worksheet, header included, as text cells.

    Rows are ragged: trailing empty cells may be missing. The workbook is closed
    when the iterator is exhausted or closed.

    Args:
        path: The .xlsx file.

    Yields:
        One tuple of cell texts per sheet row, empty rows included.

    Raises:
        ImportFileError: If the file is not a readable workbook or has no worksheet.
    """
    workbook = _open(path)
    try:
        if not workbook.worksheets:
            raise ImportFileError("The workbook has no worksheet.")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        rows = _bounded(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1))
        while True:
            try:
                batch = _batch(rows)
            except (zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError) as exc:
                raise ImportFileError("The worksheet could not be read; the workbook is damaged.") from exc
            yield from batch
            if len(batch) < _BATCH:
                return
    finally:
        workbook.close()
