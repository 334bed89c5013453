"""Which column holds which contact field, from the header (and ``--map``).

Header names are compared by a key that ignores case, diacritics, punctuation
and spacing (``"Tel. kom."`` → ``"tel kom"``, ``"Imię"`` → ``"imie"``).

Design:
    * Phone-like columns fill the phone slots in order: the first is ``phone``,
      the next ``phone2``, ``phone3`` ... up to ``phone9``
      (:data:`shared.fields.PHONE_FIELDS`); a numbered header (``Telefon 3``)
      sorts by its number, a "second" word (``Drugi telefon``) as 2. A header is
      phone-like when it is a known alias or holds a telephone word
      (``"Nr telefonu stacjonarnego"``, ``"Tel. dom."``) and no word that makes it
      about something else (``"Data telefonu"``). Phone columns beyond the
      ninth are kept as hidden extra fields and ``describe`` says so
      (:attr:`ColumnMapping.surplus_phones`); repeats of any other field are
      kept as extra fields.
    * ``Name``/``Nazwa`` alone means ``full_name``, unless a surname column
      exists, then it means ``first_name``.
    * Unknown columns are kept as ``extra:<slug>``, the slug being the header
      key with ``_`` for spaces (``"Data urodzenia"`` → ``extra:data_urodzenia``);
      a column with an empty header is ``extra:column_<n>`` (1-based); the
      n-th column with the same header gets ``_<n>`` (``extra:miasto_2``).
    * Overrides map a column (its header text, its key, or ``#n``) to a field
      name, to ``extra`` (keep under its slug), to a named extra field
      ``extra:<slug>`` (a campaign's own field, e.g. ``extra:segment``) or to
      ``ignore`` (drop it). A field chosen by an override is taken away from
      the automatic choice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from owner_server.lists.importing.errors import ImportFileError
from shared.fields import EXTRA_PREFIX, MAPPABLE_FIELDS, PHONE_FIELDS

__all__ = ["FIELDS", "ColumnMapping", "header_key", "map_columns"]

#: Canonical field names a column can map to.
FIELDS = MAPPABLE_FIELDS
_KEEP = "extra"
_IGNORE = "ignore"

# fmt: off
_ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("imie", "imiona", "first name", "firstname", "given name", "forename", "imie klienta"),
    "last_name": ("nazwisko", "surname", "last name", "lastname", "family name", "nazwisko klienta"),
    "full_name": (
        "imie i nazwisko", "imie nazwisko", "nazwisko i imie", "nazwisko imie", "klient", "klientka",
        "customer", "customer name", "client", "client name", "full name", "fullname", "contact name",
        "nazwa klienta", "dane klienta", "osoba", "osoba kontaktowa",
    ),
    "phone": (
        "telefon", "tel", "tel kom", "telefon kom", "telefon komorkowy", "tel komorkowy",
        "nr tel", "nr telefonu", "numer telefonu", "numer tel", "nr kom", "komorka", "kom", "gsm",
        "telefon kontaktowy", "telefon stacjonarny", "phone", "phone number", "phone no", "telephone",
        "mobile", "mobile phone", "mobile number", "cell", "cell phone", "msisdn", "tel no",
    ),
    "phone2": (
        "drugi telefon", "telefon dodatkowy", "tel dodatkowy", "inny telefon", "second phone",
        "other phone", "alternative phone", "secondary phone",
    ),
    "email": ("e mail", "email", "mail", "adres e mail", "adres email", "email address", "e mail address"),
    "city": ("miasto", "miejscowosc", "city", "town"),
    "address": ("adres", "ulica", "street", "address", "adres zamieszkania", "ulica i numer", "street address"),
    "postal_code": ("kod pocztowy", "kod", "zip", "zip code", "postcode", "post code", "postal code"),
    "pesel": ("pesel", "nr pesel", "numer pesel"),
    "customer_id": (
        "id", "id klienta", "nr klienta", "numer klienta", "kod klienta", "customer id", "client id",
        "customer number", "client number", "customer no",
    ),
    "notes": ("uwagi", "uwaga", "notatki", "notatka", "komentarz", "opis", "notes", "note", "comments", "comment"),
}
# fmt: on
_BY_KEY = {alias: field for field, aliases in _ALIASES.items() for alias in aliases}
#: Words that make a header mean a telephone ("Nr telefonu stacjonarnego", "Tel. dom.", "Tel. służbowy").
_PHONE_WORDS = frozenset(
    {"telefon", "telefonu", "telefony", "tel", "komorka", "komorkowy", "komorkowego", "gsm", "msisdn",
     "phone", "telephone", "mobile", "cell", "cellphone", "landline"}
)  # fmt: skip
#: ... unless the header is about something else that mentions a telephone ("Data telefonu", "Zgoda tel.").
_NOT_A_NUMBER_WORDS = frozenset(
    {"data", "date", "godzina", "czas", "time", "liczba", "ilosc", "count", "status", "zgoda", "consent",
     "operator", "typ", "type", "rodzaj", "kiedy", "when", "wynik", "result"}
)  # fmt: skip
#: Words that make a telephone header the second one.
_SECOND_WORDS = frozenset({"drugi", "dodatkowy", "inny", "zapasowy", "second", "other", "alternative", "secondary"})
_NAME_KEYS = frozenset({"name", "nazwa"})
_NUMBERED = re.compile(r"(.*?)\s*(\d+)")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_EXTRA_NAME = re.compile(re.escape(EXTRA_PREFIX) + r"[a-z0-9][a-z0-9_]{0,63}")


def header_key(text: str) -> str:
    """The comparison key of a header: lower-case ASCII words separated by one space.

    Args:
        text: A header cell.

    Returns:
        The key, e.g. ``"nr telefonu"`` for ``"Nr. telefonu:"``.
    """
    text = text.casefold().replace("ł", "l")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """The decided meaning of every column.

    Attributes:
        header: The header cells.
        fields: Column index → field name (canonical or ``extra:<slug>``); ignored
            columns are absent.
        overridden: Indices whose field was set by an override.
        unnamed_empty: Indices left out because their header and every value are empty.
        surplus_phones: Indices of phone-like columns beyond the last phone slot,
            kept as (hidden, never dialled) extra fields.
    """

    header: tuple[str, ...]
    fields: dict[int, str]
    overridden: frozenset[int] = frozenset()
    unnamed_empty: frozenset[int] = frozenset()
    surplus_phones: frozenset[int] = frozenset()

    @property
    def phone_index(self) -> int:
        """Index of the ``phone`` column (always present)."""
        return next(i for i, f in self.fields.items() if f == "phone")

    @property
    def extra_phones(self) -> tuple[tuple[int, str], ...]:
        """``(column index, slot field)`` of the phone columns after ``phone``, in slot order (``phone2`` first)."""
        slots = {f: i for i, f in self.fields.items() if f in PHONE_FIELDS[1:]}
        return tuple((slots[f], f) for f in PHONE_FIELDS[1:] if f in slots)

    def describe(self) -> list[str]:
        """One line per column for ``--dry-run``, e.g. ``'"Tel. kom." -> phone'``.

        Returns:
            Lines in column order; header names only, never cell values.
        """
        lines = []
        for index, name in enumerate(self.header):
            target = self.fields.get(index, "(ignored)")
            how = " (set by --map)" if index in self.overridden else ""
            how = " (no header, no values)" if index in self.unnamed_empty else how
            if index in self.surplus_phones:
                how = f" (a phone column beyond {PHONE_FIELDS[-1]}: kept hidden, never dialled)"
            lines.append(f'column {index + 1} "{name}" -> {target}{how}')
        return lines


def map_columns(header: tuple[str, ...], overrides: Mapping[str, str] | None = None) -> ColumnMapping:
    """Map header columns to contact fields.

    Args:
        header: The header cells.
        overrides: Column (header text, its key, or ``#n``, 1-based) → field name,
            ``"extra"``, ``"extra:<name>"`` or ``"ignore"``; from ``--map COLUMN=FIELD``.

    Returns:
        The ColumnMapping.

    Raises:
        ImportFileError: If an override names an unknown or ambiguous column or
            an unknown field, two overrides name one field, or no column is a phone.
    """
    keys = [header_key(h) for h in header]
    forced = _resolve_overrides(header, keys, overrides or {})
    taken = {f for f in forced.values() if f in FIELDS}
    auto = {i: _auto_field(k, keys) for i, k in enumerate(keys) if i not in forced}
    fields: dict[int, str] = {}
    phones = sorted((rank, i) for i, (_, rank) in auto.items() if rank is not None)
    free_phones = [f for f in PHONE_FIELDS if f not in taken]
    for (_, index), phone in zip(phones, free_phones, strict=False):
        fields[index] = phone
        taken.add(phone)
    surplus = frozenset(index for _, index in phones[len(free_phones) :])
    for index, (field, _) in sorted(auto.items()):
        if index in fields:
            continue
        if field is not None and field not in taken:
            fields[index] = field
            taken.add(field)
        else:
            fields[index] = _KEEP
    fields.update(forced)
    resolved = {i: (_slug(keys, i) if f == _KEEP else f) for i, f in sorted(fields.items()) if f != _IGNORE}
    named = [f for f in resolved.values() if f.startswith(EXTRA_PREFIX)]
    chosen = {f for f in forced.values() if f.startswith(EXTRA_PREFIX)}
    if any(named.count(f) > 1 for f in chosen):
        raise ImportFileError("--map gives an extra field a name another column already has.")
    if "phone" not in resolved.values():
        raise ImportFileError("No column looks like a phone number; name it with --map COLUMN=phone.")
    return ColumnMapping(tuple(header), resolved, frozenset(forced), surplus_phones=surplus - forced.keys())


def _auto_field(key: str, keys: list[str]) -> tuple[str | None, int | None]:
    """(field, None) for ordinary columns; (None, rank) for phone-like ones."""
    field = _BY_KEY.get(key)
    if field == "phone":
        return None, 0
    if field == "phone2":
        return None, 2
    numbered = _NUMBERED.fullmatch(key)
    if field is None and numbered and _BY_KEY.get(numbered.group(1)) == "phone":
        return None, int(numbered.group(2))
    words = set(key.split())
    if field is None and words & _PHONE_WORDS and not words & _NOT_A_NUMBER_WORDS:
        return None, (2 if words & _SECOND_WORDS else 1)
    if key in _NAME_KEYS:
        has_surname = any(_BY_KEY.get(k) == "last_name" for k in keys)
        return ("first_name" if has_surname else "full_name"), None
    return field, None


def _slug(keys: list[str], index: int) -> str:
    slug = keys[index].replace(" ", "_") or f"column_{index + 1}"
    earlier = [keys[i].replace(" ", "_") or f"column_{i + 1}" for i in range(index)]
    count = earlier.count(slug)
    return EXTRA_PREFIX + (slug if not count else f"{slug}_{count + 1}")


def _resolve_overrides(header: tuple[str, ...], keys: list[str], overrides: Mapping[str, str]) -> dict[int, str]:
    forced: dict[int, str] = {}
    for column, field in overrides.items():
        field = field.strip().lower()
        if field not in FIELDS and field not in (_KEEP, _IGNORE) and not _EXTRA_NAME.fullmatch(field):
            allowed = ", ".join((*FIELDS, _KEEP, "extra:<name>", _IGNORE))
            raise ImportFileError(f"--map names an unknown field {field!r}; use one of: {allowed}.")
        index = _find_column(header, keys, column)
        if (field in FIELDS or field.startswith(EXTRA_PREFIX)) and field in forced.values():
            raise ImportFileError(f"--map gives the field {field!r} to two columns.")
        forced[index] = field
    return forced


def _find_column(header: tuple[str, ...], keys: list[str], column: str) -> int:
    text = column.strip()
    if re.fullmatch(r"#\d+", text) and 1 <= int(text[1:]) <= len(header):
        return int(text[1:]) - 1
    matches = [i for i, h in enumerate(header) if h == text] or [i for i, k in enumerate(keys) if k == header_key(text)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ImportFileError(f"--map names a column {text!r} that is not in the header.")
    raise ImportFileError(f"--map names a column {text!r} that appears more than once; use #n (1-based) instead.")
