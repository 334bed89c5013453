"""Reading a CSV or XLSX contact list as a header and a stream of records.

:func:`read_records` decides everything about the file up front (kind,
encoding, delimiter, header) and returns a :class:`RecordSource`; iterating the
source reads the file again from the start, streaming, one record at a time.

Record numbers count records after the header, 1-based, including skipped blank
ones, so record ``N`` is row ``N + 1`` of a sheet whose header is its first row,
whatever line breaks quoted CSV fields hold. Blank records (every cell empty or
whitespace, e.g. ``;;;``) are not yielded; :attr:`RecordSource.blank_records`
counts them during iteration.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

from owner_server.lists.importing.encoding import check_encoding, detect_encoding, python_codec
from owner_server.lists.importing.errors import ImportFileError
from owner_server.lists.importing.xlsx import xlsx_rows

__all__ = ["DELIMITERS", "Record", "RecordSource", "read_records"]

#: Delimiters tried, in the order that breaks ties (rarest in ordinary text first).
DELIMITERS = ("\t", ";", "|", ",")
Record = tuple[int, tuple[str, ...]]

_SAMPLE_CHARS = 256 * 1024
_SAMPLE_RECORDS = 200
_MAJORITY = 0.8  # share of sampled records that must have the header's width
_SEP_LINE = re.compile(r'"?sep=(.)"?\r?\n?', re.IGNORECASE)
_ZIP = b"PK\x03\x04"
_BLANK_CHARS = " \t\r\n\u00a0" + "".join(DELIMITERS)  # a sampled row of only these is blank
_OLE = b"\xd0\xcf\x11\xe0"
#: Leading bytes of files that owners upload by mistake, and what they are.
_NOT_A_LIST = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
    b"{\\rtf": "an RTF document",
}


class RecordSource:
    """A decided file: its header and, when iterated, its records.

    Attributes:
        path: The file.
        header: The header cells, trimmed.
        encoding: ``"utf-8"``, ``"utf-16"``, ``"cp1250"``, ``"iso-8859-2"`` (or the
            forced name) for CSV; ``"xlsx"`` for a workbook.
        delimiter: The CSV delimiter; None for a workbook.
        blank_records: Blank records skipped so far by the current iteration.
    """

    def __init__(self, path: Path, header: tuple[str, ...], encoding: str, delimiter: str | None) -> None:
        self.path = path
        self.header = header
        self.encoding = encoding
        self.delimiter = delimiter
        self.blank_records = 0

    def __iter__(self) -> Iterator[Record]:
        """Yield ``(record_no, cells)`` for every non-blank record after the header.

        Cells are the raw texts (not trimmed). Trailing empty cells beyond the
        header are dropped and short sheet rows are padded with ``""``; a CSV
        record may still have more or fewer cells than the header, which the
        normaliser reports.

        Raises:
            ImportFileError: If the file changed into something unreadable since
                :func:`read_records`, or a CSV record is malformed.
        """
        self.blank_records = 0
        width = len(self.header)
        rows = self._rows()
        try:
            for record_no, row in enumerate(_data_rows(rows), start=1):
                # a first cell with a visible character proves the row is not blank
                if not (row and row[0] and not row[0].isspace()) and _is_blank(row):
                    self.blank_records += 1
                    continue
                if len(row) > width:
                    row = _trim(row, width)
                elif len(row) < width and self.delimiter is None:
                    row = (*row, *("",) * (width - len(row)))  # a sheet row simply ends early
                yield record_no, tuple(row)
        finally:
            rows.close()

    def _rows(self) -> Generator[tuple[str, ...] | list[str], None, None]:
        if self.delimiter is None:
            return xlsx_rows(self.path)
        return _csv_rows(self.path, python_codec(self.encoding), self.delimiter)


def read_records(path: Path | str, *, encoding: str | None = None, delimiter: str | None = None) -> RecordSource:
    """Open a contact list and decide how to read it.

    CSV encodings are decided by decoding the whole file strictly (see
    :mod:`owner_server.lists.importing.encoding`); the delimiter is the one of
    ``DELIMITERS`` that gives most (80 %) sampled records as many fields as the header
    (the widest such split wins; the others are rejected record by record).
    An Excel ``sep=X`` first line is honoured. Files starting with a ZIP
    signature are read as .xlsx (first worksheet).

    Args:
        path: The .csv/.txt or .xlsx file.
        encoding: Force a CSV encoding (any Python codec name); still checked strictly.
        delimiter: Force a one-character CSV delimiter.

    Returns:
        A RecordSource; iterate it (more than once if needed) for the records.

    Raises:
        ImportFileError: If the file is missing, binary, an old .xls, in an
            unknown encoding, has no header, or no delimiter fits every record.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError:
        raise ImportFileError("The file cannot be opened for reading.") from None
    kind = next((what for lead, what in _NOT_A_LIST.items() if magic.startswith(lead)), None)
    if kind is not None:
        raise ImportFileError(f"The file is {kind}, not a CSV or XLSX contact list.")
    if magic == _OLE:
        raise ImportFileError("Old .xls workbooks (or password-protected ones) cannot be read; save as .xlsx or CSV.")
    if magic == _ZIP:
        header = _header(xlsx_rows(path))
        return RecordSource(path, header, "xlsx", None)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise ImportFileError("The file is named .xlsx but is not a valid XLSX workbook (damaged or another format).")
    if delimiter is not None and len(delimiter) != 1:
        raise ImportFileError("The delimiter must be a single character.")
    if encoding is None:
        encoding = detect_encoding(path)
    else:
        check_encoding(path, python_codec(encoding))
    codec = python_codec(encoding)
    delimiter = delimiter or _sep_line_delimiter(path, codec) or _detect_delimiter(path, codec)
    header = _header(_csv_rows(path, codec, delimiter))
    return RecordSource(path, header, encoding, delimiter)


def _header(rows: Generator[tuple[str, ...] | list[str], None, None]) -> tuple[str, ...]:
    try:
        for row in rows:
            if not _is_blank(row):
                return tuple(cell.replace("\ufeff", "").strip() for cell in row)
    finally:
        rows.close()
    raise ImportFileError("The file has no header row (it is empty or blank).")


def _data_rows(rows: Iterator[tuple[str, ...] | list[str]]) -> Iterator[tuple[str, ...] | list[str]]:
    """The rows after the header (leading blank rows and the header dropped)."""
    return itertools.islice(itertools.dropwhile(_is_blank, rows), 1, None)


def _is_blank(row: tuple[str, ...] | list[str]) -> bool:
    return not any(row) or not "".join(row).strip()


def _trim(row: tuple[str, ...] | list[str], width: int) -> tuple[str, ...] | list[str]:
    end = len(row)
    while end > width and not row[end - 1].strip():
        end -= 1
    return row[:end]


def _csv_rows(path: Path, codec: str, delimiter: str) -> Generator[list[str], None, None]:
    """The file's CSV rows, the Excel ``sep=`` line skipped (the file object feeds the reader directly)."""
    reader = None
    try:
        with path.open(encoding=codec, errors="strict", newline="") as f:
            first = f.readline()
            lines: Iterator[str] = f if _SEP_LINE.fullmatch(first) else itertools.chain((first,), f)
            reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
            yield from reader
    except csv.Error as exc:
        raise _csv_error(exc, reader.line_num if reader is not None else 0) from None
    except UnicodeDecodeError:
        raise ImportFileError(f"The file is not valid {codec} text; pass the right --encoding.") from None
    except OSError:
        raise ImportFileError("The file could not be read to the end.") from None


def _csv_error(exc: csv.Error, line: int) -> ImportFileError:
    text = str(exc)
    if "field larger than field limit" in text:
        return ImportFileError(
            f"A field near line {line} is longer than the CSV reader accepts; a quote is probably not closed."
        )
    if "NUL" in text:
        return ImportFileError("The file holds NUL bytes; it is not a CSV text file.")
    return ImportFileError(f"The CSV quoting is broken near line {line} (a quote is not closed or doubled).")


def _sep_line_delimiter(path: Path, codec: str) -> str | None:
    with path.open(encoding=codec, newline="") as f:
        match = _SEP_LINE.fullmatch(f.readline())
    return match.group(1) if match else None


def _detect_delimiter(path: Path, codec: str) -> str:
    with path.open(encoding=codec, newline="") as f:
        sample = f.read(_SAMPLE_CHARS)
        complete = not f.read(1)
    if not complete:
        sample = sample[: max(sample.rfind("\n"), sample.rfind("\r")) + 1]
    records = {d: _sample_records(sample, d, complete) for d in DELIMITERS}
    if all(r == [] for r in records.values()):
        raise ImportFileError("The file has no header row (it is empty or blank).")
    widths = {d: w for d, r in records.items() if (w := _majority_width(r)) is not None}
    multi = [d for d in DELIMITERS if widths.get(d, 0) > 1]
    if multi:
        return max(multi, key=lambda d: widths[d])  # max() keeps the first of equals
    # A one-column list: its header holds no candidate delimiter and no row is split.
    single = [d for d in DELIMITERS if widths.get(d) == 1]
    first = records[single[0]] if single else None
    if first and not any(d in first[0][0] for d in DELIMITERS):
        return single[0]
    raise ImportFileError(
        "No delimiter (tab ; | ,) splits most records into as many fields as the header; "
        "check the file or pass --delimiter."
    )


def _majority_width(records: list[list[str]] | None) -> int | None:
    """The header width if most sampled records have it (the others are rejected one by one later).

    A few records with a stray delimiter or a missing field must not hide the
    delimiter of the whole file: the normaliser rejects each of them with its
    record number and field counts.
    """
    if not records:
        return None
    width = len(records[0])
    rest = records[1:]
    if not rest:
        return width
    fitting = sum(1 for r in rest if len(_trim(r, width)) == width)
    return width if fitting >= _MAJORITY * len(rest) else None


def _sample_records(sample: str, delimiter: str, complete: bool) -> list[list[str]] | None:
    lines: Iterable[str] = io.StringIO(sample, newline="")
    first = next(iter(lines), "")
    if not _SEP_LINE.fullmatch(first):
        lines = itertools.chain([first], lines)
    records: list[list[str]] = []
    try:
        for row in csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=True):
            if "".join(row).strip(_BLANK_CHARS):
                records.append(row)
            if len(records) > _SAMPLE_RECORDS:
                return records
    except csv.Error:
        if complete:
            return None
    if not complete and len(records) > 1:
        records.pop()  # may be cut in the middle of a quoted field
    return records
