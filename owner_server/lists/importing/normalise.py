"""Records and a column mapping in, clean contact rows (or reasons) out.

Pure and streaming: one row in, one result out, nothing kept between rows.
Duplicates are not looked for here; the writer finds them by blind index.

Design:
    * Values are trimmed, line breaks inside a value become line feeds and text is
      put in Unicode NFC (the same letters, one spelling). Nothing else changes:
      a value that a spreadsheet would run as a formula (``=…``, ``+…``, ``@…``)
      is kept as it is; exporters use :mod:`owner_server.lists.importing.formulas`.
    * Empty values are left out of :attr:`NormalisedRow.fields`.
    * A row whose ``phone`` fails is rejected. A further phone (``phone2`` ...
      ``phone9``) that fails does not reject the row: it is dropped and reported
      in :attr:`NormalisedRow.phones_rejected` as a warning. A further phone
      equal to ``phone`` or to an earlier slot's is dropped silently.
    * Reasons never quote values; they name columns and counts only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from owner_server.lists.importing.mapping import ColumnMapping
from owner_server.lists.importing.phones import PhoneOk, PhoneRejected, check_region, normalise_phone
from shared.fields import PHONE_FIELDS
from shared.limits import LIMITS

__all__ = ["NormalisedRow", "RejectedRow", "normalise_records", "normalise_value"]

_PHONE_FIELDS = frozenset(PHONE_FIELDS)


@dataclass(frozen=True, slots=True)
class NormalisedRow:
    """A record ready to be encrypted and stored.

    Attributes:
        record_no: The record number (1-based, header excluded).
        fields: Field name → non-empty clean value, for every mapped column but
            the phones (``first_name``, ``city``, ``extra:<slug>``, ...).
        phone: The dialable number (slot 1).
        extra_phones: ``(slot field, number)`` of the further numbers kept
            (``("phone2", ...)``, ``("phone3", ...)``), in slot order.
        phones_rejected: ``(slot field, why)`` of non-empty further phones that
            were dropped (warnings).
    """

    record_no: int
    fields: dict[str, str]
    phone: PhoneOk
    extra_phones: tuple[tuple[str, PhoneOk], ...] = ()
    phones_rejected: tuple[tuple[str, PhoneRejected], ...] = ()


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
    phone_at, extra_at = mapping.phone_index, mapping.extra_phones
    phone_columns = (phone_at, *(i for i, _ in extra_at))
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
        for phone_index in phone_columns:
            if len(cells[phone_index]) > max_field_chars:
                too_long = mapping.header[phone_index]
        if too_long is not None:
            yield RejectedRow(
                record_no, "field_too_long", f'The value in column "{too_long}" is longer than the field limit.'
            )
            continue
        yield _with_phones(record_no, fields, cells, phone_at, extra_at, region, accept_float_artefacts)


def _with_phones(  # noqa: PLR0913 - one record's cells and where its phones are
    record_no: int,
    fields: dict[str, str],
    cells: tuple[str, ...],
    phone_at: int,
    extra_at: tuple[tuple[int, str], ...],
    region: str,
    floats: bool,
) -> NormalisedRow | RejectedRow:
    phone = normalise_phone(cells[phone_at], region, accept_float_artefacts=floats)
    if isinstance(phone, PhoneRejected):
        return RejectedRow(record_no, phone.reason_code, phone.reason)
    kept: list[tuple[str, PhoneOk]] = []
    dropped: list[tuple[str, PhoneRejected]] = []
    seen = {(phone.e164, phone.extension)}
    for index, slot in extra_at:
        if not cells[index].strip():
            continue
        extra = normalise_phone(cells[index], region, accept_float_artefacts=floats)
        if isinstance(extra, PhoneRejected):
            dropped.append((slot, extra))
        elif (extra.e164, extra.extension) not in seen:
            seen.add((extra.e164, extra.extension))
            kept.append((slot, extra))
    return NormalisedRow(record_no, fields, phone, tuple(kept), tuple(dropped))
