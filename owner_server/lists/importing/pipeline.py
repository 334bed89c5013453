"""From a file on disk to a stream of normalised rows: read, map, normalise."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from owner_server.lists.importing.errors import ImportFileError
from owner_server.lists.importing.mapping import ColumnMapping, map_columns
from owner_server.lists.importing.normalise import NormalisedRow, RejectedRow, normalise_records
from owner_server.lists.importing.phones import PhoneOk, normalise_phone
from owner_server.lists.importing.reading import DELIMITERS, RecordSource, read_records

__all__ = ["OpenedFile", "estimate_records", "file_sha256", "open_file", "phone_rows"]


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def estimate_records(path: Path) -> int | None:
    """Roughly how many records a CSV file holds (its line count less the header), for a progress bar.

    Args:
        path: The file.

    Returns:
        At least 1 for a CSV file (quoted line breaks make it an over-estimate);
        None for an XLSX workbook, whose size in records is unknown until read.
    """
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return None
    lines = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(lines - 1, 1)


@dataclass(frozen=True, slots=True)
class OpenedFile:
    """A decided import file: how it is read and mapped, and its rows.

    Attributes:
        source: The record source (encoding, delimiter, header, blank count).
        mapping: Column → field mapping.
        sha256: Hash of the file's bytes.
        region: Default phone region.
        accept_float_artefacts: Whether a phone's exact ``.0`` tail is dropped (noted as a repair).
    """

    source: RecordSource
    mapping: ColumnMapping
    sha256: str
    region: str
    accept_float_artefacts: bool = False

    def rows(self) -> Iterator[NormalisedRow | RejectedRow]:
        """Stream the normalised and rejected rows (may be iterated again)."""
        return normalise_records(
            self.source, self.mapping, region=self.region, accept_float_artefacts=self.accept_float_artefacts
        )


def open_file(
    path: Path,
    *,
    region: str = "PL",
    encoding: str | None = None,
    delimiter: str | None = None,
    overrides: Mapping[str, str] | None = None,
    accept_float_artefacts: bool = False,
) -> OpenedFile:
    """Decide how to read a CSV or XLSX file and map its columns.

    Raises:
        ImportFileError: Unreadable file, undecidable encoding or delimiter,
            a first row that is data rather than a header, a header that did
            not split (one cell holding another delimiter), a header and no
            records, no phone column, or an override naming an unknown column.
    """
    source = read_records(path, encoding=encoding, delimiter=delimiter)
    if any(isinstance(normalise_phone(cell, region), PhoneOk) for cell in source.header if cell):
        # a header-less file: its first person would become column names (printed, stored as field names)
        raise ImportFileError("The first row holds a phone number, not column names; add a header row.")
    _refuse_unsplit_header(source, forced=delimiter is not None)
    empty = _unnamed_empty_columns(source) - {_column_index(column) for column in overrides or {}}
    mapping = map_columns(source.header, {**{f"#{i + 1}": "ignore" for i in empty}, **(overrides or {})})
    mapping = replace(mapping, overridden=mapping.overridden - empty, unnamed_empty=frozenset(empty))
    if not _has_records(source):
        raise ImportFileError("The file has a header but no records: there is nothing to import.")
    return OpenedFile(source, mapping, file_sha256(path), region, accept_float_artefacts)


def _unnamed_empty_columns(source: RecordSource) -> set[int]:
    """Columns with an empty header and no value in any record (Excel's trailing ``;;;``).

    Reads the file once more, only when the header has an empty cell.
    """
    unnamed = {i for i, name in enumerate(source.header) if not name}
    if not unnamed:
        return set()
    for _, cells in source:
        unnamed -= {i for i in unnamed if i < len(cells) and cells[i].strip()}
        if not unnamed:
            break
    return unnamed


def _column_index(column: str) -> int | None:
    """The index an override's ``#n`` names (other forms never name an unnamed column)."""
    text = column.strip()
    return int(text[1:]) - 1 if text[:1] == "#" and text[1:].isdigit() else None


def _has_records(source: RecordSource) -> bool:
    records = iter(source)
    try:
        return next(records, None) is not None
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()


def _refuse_unsplit_header(source: RecordSource, *, forced: bool) -> None:
    """Refuse a header that stayed one cell though it holds another delimiter (a wrong ``--delimiter``).

    Raises:
        ImportFileError: The header is a single cell that holds another delimiter.
    """
    if source.delimiter is None or len(source.header) != 1:
        return
    others = [d for d in DELIMITERS if d != source.delimiter and d in source.header[0]]
    if not others:
        return
    shown = {"\t": "tab"}.get(others[0], repr(others[0]))
    how = f"with --delimiter {source.delimiter!r}" if forced else "with the detected delimiter"
    raise ImportFileError(
        f"The header did not split into columns {how}; it holds {shown}, which looks like the file's delimiter"
        + (" (leave --delimiter out or pass that one)." if forced else " (pass --delimiter).")
    )


def _text_records(path: Path) -> Iterator[tuple[int, tuple[str, ...]]]:
    with path.open(encoding="utf-8-sig") as fh:
        for record_no, line in enumerate(fh, start=1):
            if line.strip():
                yield record_no, (line.strip(),)


def phone_rows(path: Path, *, region: str = "PL") -> Iterator[NormalisedRow | RejectedRow]:
    """Stream the phone numbers of a list of numbers (``dnc import``, ``canary add``).

    A ``.txt`` file holds one number a line (UTF-8, blank lines skipped, the
    record number being the line number); any other file is a CSV or XLSX
    file read as an import is, its phone column found by its header.

    Args:
        path: The file.
        region: Default region for national numbers.

    Returns:
        Normalised rows (only the phones matter: ``phone`` and every further slot) or rejected rows, in order.

    Raises:
        ImportFileError: See :func:`open_file` (CSV/XLSX), or an unknown region.
        UnicodeDecodeError: A ``.txt`` file is not UTF-8 (raised while iterating).
        OSError: The file cannot be read.
    """
    if path.suffix.lower() == ".txt":
        return normalise_records(_text_records(path), map_columns(("phone",)), region=region)
    return open_file(path, region=region).rows()
