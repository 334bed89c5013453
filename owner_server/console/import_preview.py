"""What the import preview shows: each column's field as a choice, and a few sample rows masked.

Sample values are masked so that the page never holds a full value of the
file: a phone keeps its last two digits, a long number (PESEL, customer id)
its last two digits, a word its first letter, and text with a phone number
inside nothing at all. The header (column names) is shown as it is: a file
whose first row is a person is refused by ``open_file`` before any preview.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

from owner_server.lists.importing.mapping import ColumnMapping
from owner_server.lists.importing.pipeline import OpenedFile
from shared.fields import EXTRA_PREFIX, MAPPABLE_FIELDS
from shared.phone_text import contains_phone_number
from shared.policy import CampaignPolicy, is_phone_field

__all__ = [
    "IGNORE",
    "KEEP",
    "SAMPLE_ROWS",
    "Column",
    "Preview",
    "build_preview",
    "field_options",
    "mask_sample",
    "overrides_from_form",
    "policy_extras",
]

SAMPLE_ROWS = 5
KEEP = "extra"
IGNORE = "ignore"
_DOT = "•"
_MAX_MASK = 8


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the preview.

    Attributes:
        index: 0-based position.
        name: The header text.
        field: The field it maps to now (``extra:<slug>``, canonical, or None when ignored).
        choice: The option selected in its ``<select>``.
        overridden: Whether the admin chose it (not the automatic mapping).
    """

    index: int
    name: str
    field: str | None
    choice: str
    overridden: bool


@dataclass(frozen=True, slots=True)
class Preview:
    """The preview page's data.

    Attributes:
        encoding: Detected encoding (``xlsx`` for a workbook).
        delimiter: The CSV delimiter, None for a workbook.
        columns: Every column.
        options: The field choices ``(value, label)`` offered for every column.
        rows: Up to :data:`SAMPLE_ROWS` masked rows: (record number, cells).
    """

    encoding: str
    delimiter: str | None
    columns: list[Column]
    options: list[str]
    rows: list[tuple[int, list[str]]]


def policy_extras(policy: CampaignPolicy) -> list[str]:
    """The campaign's own ``extra:`` fields (offered as mapping targets), sorted."""
    return sorted(name for name in policy.fields if name.startswith(EXTRA_PREFIX))


def _choice(field: str | None, extras: list[str]) -> str:
    if field is None:
        return IGNORE
    if field in extras or not field.startswith(EXTRA_PREFIX):
        return field
    return KEEP


def _masked_number(value: str) -> str:
    digits = [c for c in value if c.isdigit()]
    tail = "".join(digits[-2:]) if len(digits) > 4 else ""
    return _DOT * min(max(len(value) - len(tail), 3), _MAX_MASK) + tail


def _masked_word(word: str) -> str:
    if len(word) < 2 or any(c.isdigit() for c in word):
        return _DOT * min(max(len(word), 1), _MAX_MASK)
    return word[0] + _DOT * min(len(word) - 1, _MAX_MASK)


def mask_sample(value: str, field: str | None) -> str:
    """A sample cell as the preview shows it; never the whole value.

    Args:
        value: The raw cell.
        field: The field its column maps to (None when ignored).

    Returns:
        ``""`` for an empty cell; otherwise a masked form (see the module docstring).
    """
    text = " ".join(value.split())
    if not text:
        return ""
    if field is not None and is_phone_field(field):
        return _masked_number(text)
    if contains_phone_number(text):
        return _DOT * 6
    if sum(c.isdigit() for c in text) > 4:
        return _masked_number(text)
    return " ".join(_masked_word(w) for w in text.split(" "))[:64]


def build_preview(opened: OpenedFile, extras: list[str]) -> Preview:
    """The preview of an opened file: mapping choices and masked sample rows."""
    mapping = opened.mapping
    columns = [
        Column(i, name, mapping.fields.get(i), _choice(mapping.fields.get(i), extras), i in mapping.overridden)
        for i, name in enumerate(mapping.header)
    ]
    width = len(mapping.header)
    records = iter(opened.source)
    rows: list[tuple[int, list[str]]] = []
    try:
        for record_no, cells in itertools.islice(records, SAMPLE_ROWS):
            padded = (list(cells) + [""] * width)[:width]
            rows.append((record_no, [mask_sample(c, mapping.fields.get(i)) for i, c in enumerate(padded)]))
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()
    return Preview(opened.source.encoding, opened.source.delimiter, columns, field_options(extras), rows)


def field_options(extras: list[str]) -> list[str]:
    """Every value a column's ``<select>`` offers: the canonical fields, the campaign's extras, keep, ignore."""
    return [*MAPPABLE_FIELDS, *extras, KEEP, IGNORE]


def overrides_from_form(auto: ColumnMapping, chosen: Mapping[int, str], extras: list[str]) -> dict[str, str]:
    """The ``--map`` overrides (``#n`` → field) of the columns whose choice differs from the automatic one.

    Args:
        auto: The mapping without overrides.
        chosen: Column index → the option posted for it.
        extras: The campaign's extra fields (see :func:`policy_extras`).

    Returns:
        Overrides for :func:`~owner_server.lists.importing.mapping.map_columns`.
    """
    overrides: dict[str, str] = {}
    for index in range(len(auto.header)):
        value = chosen.get(index)
        if value is not None and value != _choice(auto.fields.get(index), extras):
            overrides[f"#{index + 1}"] = value
    return overrides
