"""Export a campaign's contacts with their outcomes for owner admins (CSV or XLSX).

Design:
    * Two streaming passes over the campaign in batches by id. The first reads
      only the payloads' field *names* (nothing is decrypted) to build the
      columns: the union of names, known fields in :data:`FIELD_ORDER` first,
      then the rest (``extra:*``) sorted. The second decrypts and writes one
      batch at a time; no whole-campaign list is ever held.
    * Columns: ``contact_ref``, the fields, ``state``, ``attempts``,
      ``last_disposition``, ``last_disposition_at`` (ISO 8601, UTC). Erased
      contacts (and every contact of an erased campaign) are written as ref and
      state only; staged contacts (an import in progress) and canary contacts
      (:mod:`owner_server.lists.canaries`: trap entries, not customers) are left out.
    * CSV: UTF-8 with BOM, ``;`` delimiter, every value passed through
      :func:`~owner_server.lists.importing.formulas.neutralise_formula` (so a phone
      shows as ``'+48…``). XLSX (openpyxl write-only, inline strings): every
      value is a typed text cell, so phones stay text and no value is ever a
      formula; formula-like values also get Excel's quote prefix so they stay
      text when edited; characters XML cannot hold are dropped.
    * The file is written to a temporary file (mode 0600) beside the target,
      the export is audited (``campaign_exported``: counts and format only),
      then the file is moved into place with :func:`os.replace`. An existing
      target is refused unless ``force``.

Limits:
    * Batches are read in separate short transactions (agents keep working),
      so the file is not a snapshot: a contact changing meanwhile may appear in
      its older or newer state.
    * openpyxl spools the sheet to a temporary file in the system temp dir
      (mode 0600, removed after saving); a crash mid-export can leave it there.
    * If moving the file into place fails after the audit entry, the log records
      an export that produced no file (it never under-reports).
"""

from __future__ import annotations

import csv
import io
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from owner_server.audit import log as audit
from owner_server.core.db import session_scope
from owner_server.identity.admin import get_campaign
from owner_server.lists.importing.formulas import is_formula_like, neutralise_formula
from owner_server.lists.visibility import is_visible
from owner_server.models import Contact, ContactState, Disposition
from owner_server.vault.aead import FieldCipher, decode_payload
from owner_server.vault.keys import KeyService
from shared.errors import ConflictError, ValidationError
from shared.fields import CONTACT_FIELDS

__all__ = [
    "EXPORT_BATCH",
    "FIELD_ORDER",
    "TRAILING_COLUMNS",
    "ExportReport",
    "export_campaign",
    "write_csv",
    "write_xlsx",
]

EXPORT_BATCH = 1000
FIELD_ORDER = CONTACT_FIELDS
TRAILING_COLUMNS = ("state", "attempts", "last_disposition", "last_disposition_at")
FORMATS = {".csv": "csv", ".xlsx": "xlsx"}


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What an export wrote (counts only).

    Attributes:
        campaign: The campaign's name.
        path: The file written.
        file_format: ``csv`` or ``xlsx``.
        contacts: Rows written (erased ones included).
        erased: Rows written as ref and state only.
        columns: Columns in the file.
    """

    campaign: str
    path: Path
    file_format: str
    contacts: int
    erased: int
    columns: int


class _Sink(Protocol):
    def row(self, values: Sequence[str]) -> None: ...
    def close(self) -> None: ...


_EMBEDDED_FORMULA = re.compile(r"([,;\t])([=+\-@])")


def _csv_cell(value: str) -> str:
    """Formula-safe CSV text: the first character, and any formula start after a separator.

    Every cell is also quoted, so a spreadsheet that splits on another
    delimiter (a comma locale) still cannot turn a value's tail into a formula.
    """
    return _EMBEDDED_FORMULA.sub(r"\1'\2", neutralise_formula(value))


class _CsvSink:
    def __init__(self, fh: BinaryIO) -> None:
        self._text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._text, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_ALL)

    def row(self, values: Sequence[str]) -> None:
        self._writer.writerow([_csv_cell(v) for v in values])

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


def write_csv(fh: BinaryIO, rows: Iterable[Sequence[str]]) -> None:
    """Write rows in the export's CSV format: UTF-8 with BOM, ``;``, CRLF, every cell quoted and formula-safe.

    Args:
        fh: A binary file open for writing (left open).
        rows: The header then the data rows, as text cells.
    """
    sink = _CsvSink(fh)
    for values in rows:
        sink.row(values)
    sink.close()


class _XlsxSink:
    def __init__(self, fh: BinaryIO, sheet: str = "contacts") -> None:
        self._fh = fh
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(sheet)

    def _cell(self, value: str) -> WriteOnlyCell | None:
        text = ILLEGAL_CHARACTERS_RE.sub("", value)
        if not text:
            return None
        cell = WriteOnlyCell(self._sheet, value=text)
        cell.data_type = "s"  # a typed string, never a formula or a number
        if is_formula_like(text):
            cell.quotePrefix = True
        return cell

    def row(self, values: Sequence[str]) -> None:
        self._sheet.append([self._cell(v) for v in values])

    def close(self) -> None:
        self._book.save(self._fh)


def write_xlsx(fh: BinaryIO, rows: Iterable[Sequence[str]], *, sheet: str) -> None:
    """Write rows as the export's XLSX: one sheet of typed text cells, never a formula.

    Args:
        fh: A binary file open for writing (left open).
        rows: The header then the data rows, as text cells.
        sheet: The worksheet's name (at most 31 characters; no brackets, colons, slashes, ``*`` or ``?``).
    """
    sink = _XlsxSink(fh, sheet)
    for values in rows:
        sink.row(values)
    sink.close()


def _sort_key(name: str) -> tuple[int, int, str]:
    return (0, FIELD_ORDER.index(name), "") if name in FIELD_ORDER else (1, 0, name)


def _field_names(engine: Engine, *, campaign_id: int, batch: int) -> list[str]:
    """The union of the live contacts' field names, in export order (nothing decrypted)."""
    names: set[str] = set()
    last = 0
    while True:
        with session_scope(engine) as session:
            rows = session.exec(
                select(Contact.id, Contact.payload)
                .where(
                    Contact.campaign_id == campaign_id,
                    col(Contact.state) != ContactState.ERASED,
                    is_visible(),
                    col(Contact.is_canary).is_(False),
                    col(Contact.id) > last,
                )
                .order_by(col(Contact.id))
                .limit(batch)
            ).all()
        if not rows:
            return sorted(names, key=_sort_key)
        for _, payload in rows:
            names.update(decode_payload(payload))
        last = rows[-1][0] or 0


@dataclass(frozen=True, slots=True)
class _Batch:
    contacts: Sequence[Contact]
    ciphers: dict[int, FieldCipher]
    outcomes: dict[int, tuple[str, str]]


def _batches(engine: Engine, keys: KeyService, *, campaign_id: int, shredded: bool, batch: int) -> Iterator[_Batch]:
    """Contacts with what is needed to write them, one short transaction per batch."""
    ciphers: dict[int, FieldCipher] = {}
    last = 0
    while True:
        with session_scope(engine) as session:
            contacts = session.exec(
                select(Contact)
                .where(
                    Contact.campaign_id == campaign_id,
                    is_visible(),
                    col(Contact.is_canary).is_(False),
                    col(Contact.id) > last,
                )
                .order_by(col(Contact.id))
                .limit(batch)
            ).all()
            live = [] if shredded else [c for c in contacts if c.state != ContactState.ERASED]
            for data_key_id in {c.data_key_id for c in live} - ciphers.keys():
                ciphers[data_key_id] = keys.cipher_for(session, data_key_id=data_key_id)
            outcomes: dict[int, tuple[str, str]] = {}
            if live:
                for contact_id, code, at in session.exec(
                    select(Disposition.contact_id, Disposition.code, Disposition.created_at)
                    .where(col(Disposition.contact_id).in_([c.id for c in live]))
                    .order_by(col(Disposition.created_at), col(Disposition.id))
                ).all():
                    outcomes[contact_id] = (code, at.isoformat())  # the latest one wins
        if not contacts:
            return
        yield _Batch(contacts, ciphers if live else {}, outcomes)
        last = contacts[-1].id or 0


def _row(contact: Contact, batch: _Batch, fields: Sequence[str]) -> list[str] | None:
    """The row of one contact, or None when it is to be written as ref and state only."""
    cipher = batch.ciphers.get(contact.data_key_id)
    if contact.state == ContactState.ERASED or cipher is None:
        return None
    values = cipher.decrypt_fields(contact.ref, contact.payload)
    assert contact.id is not None
    code, at = batch.outcomes.get(contact.id, ("", ""))
    return [contact.ref, *(values.get(f, "") for f in fields), contact.state.value, str(contact.attempts), code, at]


def _check_target(out: Path, *, force: bool) -> str:
    file_format = FORMATS.get(out.suffix.lower())
    if file_format is None:
        raise ValidationError("the export file name must end in .csv or .xlsx")
    if not out.parent.is_dir():
        raise ValidationError(f"the directory {out.parent} does not exist")
    if out.is_dir():
        raise ValidationError(f"{out} is a directory")
    if out.exists() and not force:
        raise ConflictError(f"{out} already exists; pass --force to overwrite it")
    return file_format


def export_campaign(
    engine: Engine,
    keys: KeyService,
    *,
    campaign: str,
    out: Path,
    actor: str,
    force: bool = False,
    batch: int = EXPORT_BATCH,
) -> ExportReport:
    """Write a campaign's contacts and outcomes to ``out`` (format from its suffix).

    Args:
        engine: Database engine.
        keys: Key service (campaign data keys).
        campaign: The campaign's name.
        out: Target file, ``.csv`` or ``.xlsx``.
        actor: Who exports, for the audit log.
        force: Overwrite an existing file.
        batch: Contacts read and decrypted per transaction.

    Returns:
        Counts of what was written.

    Raises:
        ValidationError: Bad file name or directory (nothing written).
        ConflictError: The file exists and ``force`` is off.
        NotFoundError: Unknown campaign.
    """
    file_format = _check_target(out, force=force)
    with session_scope(engine) as session:
        found = get_campaign(session, name=campaign)
    assert found.id is not None
    shredded = found.erased_at is not None
    fields = [] if shredded else _field_names(engine, campaign_id=found.id, batch=batch)
    width = 1 + len(fields) + len(TRAILING_COLUMNS)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    total = erased = 0
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
            sink: _Sink = _CsvSink(fh) if file_format == "csv" else _XlsxSink(fh)
            sink.row(["contact_ref", *fields, *TRAILING_COLUMNS])
            for chunk in _batches(engine, keys, campaign_id=found.id, shredded=shredded, batch=batch):
                for contact in chunk.contacts:
                    row = _row(contact, chunk, fields)
                    if row is None:
                        erased += 1
                        row = [contact.ref, *([""] * len(fields)), ContactState.ERASED.value, "", "", ""]
                    sink.row(row)
                    total += 1
            sink.close()
            fh.flush()
            os.fsync(fh.fileno())
        with session_scope(engine) as session:
            audit.append(
                session,
                actor=actor,
                action="campaign_exported",
                object_type="campaign",
                object_id=str(found.id),
                details={"format": file_format, "contacts": total, "erased": erased, "columns": width},
            )
        _check_target(out, force=force)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ExportReport(found.name, out, file_format, total, erased, width)
