"""Records and a column mapping in, clean contact rows (or reasons) out.

Pure and streaming: one row in, one result out, nothing kept between rows.
Duplicates are not looked for here; the writer finds them by blind index.

Design:
    * Values are trimmed, line breaks inside a value become line feeds and text is
      put in Unicode NFC (the same letters, one spelling). Nothing else changes:
      a value that a spreadsheet would run as a formula (``=…``, ``+…``, ``@…``)
      is kept as it is; exporters use :mod:`owner_server.lists.importing.formulas`.
    * Empty values are left out of :attr:`NormalisedRow.fields`.
    * A row whose ``phone`` fails is rejected. A ``phone2`` that fails does not
      reject the row: it is dropped and reported in
      :attr:`NormalisedRow.phone2_rejected` as a warning. A ``phone2`` equal to
      ``phone`` is dropped silently.
    * Reasons never quote values; they name columns and counts only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from owner_server.lists.importing.mapping import ColumnMapping
from owner_server.lists.importing.phones import PhoneOk, PhoneRejected, check_region, normalise_phone
from shared.limits import LIMITS

__all__ = ["NormalisedRow", "RejectedRow", "normalise_records", "normalise_value"]

_PHONE_FIELDS = ("phone", "phone2")


@dataclass(frozen=True, slots=True)
class NormalisedRow:
    """A record ready to be encrypted and stored.

    Attributes:
        record_no: The record number (1-based, header excluded).
        fields: Field name → non-empty clean value, for every mapped column but
            the phones (``first_name``, ``city``, ``extra:<slug>``, ...).
        phone: The dialable number.
        phone2: The second number, or None.
        phone2_rejected: Why a non-empty second phone was dropped (a warning), or None.
    """

    record_no: int
    fields: dict[str, str]
    phone: PhoneOk
    phone2: PhoneOk | None = None
    phone2_rejected: PhoneRejected | None = None


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A record that is not imported.

    Attributes:
        record_no: The record number (1-based, header excluded).
        reason_code: ``field_count``, ``field_too_long`` or a phone reason code
            (``empty``, ``scientific_notation``, ... see :mod:`.phones`).
        reason: A sentence for the owner, free of the record's personal data.
    """

    record_no: int
    reason_code: str
    reason: str


def normalise_value(value: str) -> str:
    """Trim a value, turn its CR LF and CR line breaks into LF and put it in NFC.

    Args:
        value: A raw cell text.

    Returns:
        The clean text (possibly empty).
    """
    value = value.strip()
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if not value.isascii():
        value = unicodedata.normalize("NFC", value)
    return value


def normalise_records(
    source: Iterable[tuple[int, tuple[str, ...]]],
    mapping: ColumnMapping,
    *,
    region: str = "PL",
    max_field_chars: int = LIMITS.max_field_chars,
    accept_float_artefacts: bool = False,
) -> Iterator[NormalisedRow | RejectedRow]:
    """Normalise every record of a source.

    Args:
        source: ``(record_no, cells)`` pairs, e.g. a RecordSource.
        mapping: The column mapping for the source's header.
        region: Region for national phone numbers.
        max_field_chars: Longest clean value accepted, in characters.
        accept_float_artefacts: Read a phone's exact ``.0`` tail as a spreadsheet
            artefact (see :func:`.phones.normalise_phone`).

    Yields:
        One NormalisedRow or RejectedRow per record, in order.

    Raises:
        ImportFileError: If ``region`` is unknown (before any row), or the source
            raises it while reading.
    """
    check_region(region)
    width = len(mapping.header)
    plan = tuple((i, f, mapping.header[i]) for i, f in mapping.fields.items() if f not in _PHONE_FIELDS)
    phone_at, phone2_at = mapping.phone_index, mapping.phone2_index
    nfc = unicodedata.normalize
    for record_no, cells in source:
        if len(cells) != width:
            yield RejectedRow(
                record_no,
                "field_count",
                f"The record has {len(cells)} fields but the header has {width}; "
                "a delimiter or a quote is probably missing or extra.",
            )
            continue
        fields: dict[str, str] = {}
        too_long = None
        for index, field, column in plan:
            # normalise_value, inlined: it runs for every cell of a million-row file
            value = cells[index].strip()
            if "\r" in value:
                value = value.replace("\r\n", "\n").replace("\r", "\n")
            if not value.isascii():
                value = nfc("NFC", value)
            if len(value) > max_field_chars:
                too_long = column
                break
            if value:
                fields[field] = value
        for phone_index in (phone_at, phone2_at):
            if phone_index is not None and len(cells[phone_index]) > max_field_chars:
                too_long = mapping.header[phone_index]
        if too_long is not None:
            yield RejectedRow(
                record_no, "field_too_long", f'The value in column "{too_long}" is longer than the field limit.'
            )
            continue
        yield _with_phones(record_no, fields, cells, phone_at, phone2_at, region, accept_float_artefacts)


def _with_phones(  # noqa: PLR0913 - one record's cells and where its phones are
    record_no: int,
    fields: dict[str, str],
    cells: tuple[str, ...],
    phone_at: int,
    phone2_at: int | None,
    region: str,
    floats: bool,
) -> NormalisedRow | RejectedRow:
    phone = normalise_phone(cells[phone_at], region, accept_float_artefacts=floats)
    if isinstance(phone, PhoneRejected):
        return RejectedRow(record_no, phone.reason_code, phone.reason)
    if phone2_at is None or not cells[phone2_at].strip():
        return NormalisedRow(record_no, fields, phone)
    phone2 = normalise_phone(cells[phone2_at], region, accept_float_artefacts=floats)
    if isinstance(phone2, PhoneRejected):
        return NormalisedRow(record_no, fields, phone, None, phone2)
    same = (phone2.e164, phone2.extension) == (phone.e164, phone.extension)
    return NormalisedRow(record_no, fields, phone, None if same else phone2)
