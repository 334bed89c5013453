"""A seeded generator of realistic Polish contact lists, and a writer in Polish Excel's CSV dialect.

Names, surnames, streets, cities and e-mail domains come from Faker's ``pl_PL`` locale. Faker
costs tens of microseconds per value, so it is asked only once per seed to fill small pools
(a few thousand values, with Faker's own frequency weighting preserved by drawing with
repetition); each row then combines pool entries with a seeded :class:`random.Random`. A
million rows stream in a few seconds with constant memory.

Phone numbers are unique within one generated list: row ``i`` gets the ``i``-th element of a
seeded permutation of a space of valid Polish numbers (ITU-T E.164; Polish national numbers
have nine digits), so no two rows of a list share a number. :func:`phone_e164` and
:func:`expected_phones` recompute that number without generating the rows, which is how
tests know what the normaliser should make of each differently-written phone.
"""

from __future__ import annotations

import csv
import functools
import os
import random
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from faker import Faker

__all__ = [
    "COLUMNS",
    "DEFAULT_SEED",
    "MAX_CONTACTS",
    "expected_phones",
    "generate_contacts",
    "phone_e164",
    "write_polish_excel_csv",
    "write_sample",
]

#: The seed used when none is given.
DEFAULT_SEED = 2026

#: Column headers, in file order, as a Polish office worker would name them.
COLUMNS: tuple[str, ...] = (
    "Imię",
    "Nazwisko",
    "Telefon",
    "E-mail",
    "Miasto",
    "Adres",
    "Kod pocztowy",
    "Nr klienta",
)

# Phone number space: blocks of 10**6 national numbers sharing their first three digits.
# Mobile ranges 50x-88x and Warsaw (22), Kraków (12), Gdańsk (58) landlines whose subscriber
# number starts with 2-8; every number in every block passes phonenumbers.is_valid_number.
_MOBILE_PREFIXES = ("50", "51", "53", "57", "60", "66", "69", "72", "73", "78", "79", "88")
_LANDLINE_AREAS = ("22", "12", "58")
_BLOCKS: tuple[str, ...] = tuple(f"{p}{d}" for p in _MOBILE_PREFIXES for d in range(10)) + tuple(
    f"{a}{d}" for a in _LANDLINE_AREAS for d in range(2, 9)
)
_FIRST_LANDLINE_BLOCK = len(_MOBILE_PREFIXES) * 10
_BLOCK_SIZE = 10**6

#: Most rows one list can hold: the number of distinct phone numbers available (141,000,000).
MAX_CONTACTS = len(_BLOCKS) * _BLOCK_SIZE

_FEISTEL_ROUNDS = 4

_PhoneStyle = Callable[[str], str]

# Ways Polish spreadsheets write a nine-digit mobile number; repeats weight the common ones.
_MOBILE_STYLES: tuple[_PhoneStyle, ...] = (
    lambda n: f"{n[:3]} {n[3:6]} {n[6:]}",  # 500 123 456
    lambda n: f"{n[:3]} {n[3:6]} {n[6:]}",
    lambda n: f"{n[:3]} {n[3:6]} {n[6:]}",
    lambda n: f"{n[:3]}-{n[3:6]}-{n[6:]}",  # 500-123-456
    lambda n: f"+48 {n[:3]} {n[3:6]} {n[6:]}",  # +48 500 123 456
    lambda n: f"+48 {n[:3]} {n[3:6]} {n[6:]}",
    lambda n: f"0048{n}",  # 0048500123456
    lambda n: n,  # 500123456
    lambda n: n,
    lambda n: f"+48{n}",  # +48500123456
    lambda n: f"(+48) {n[:3]} {n[3:6]} {n[6:]}",  # (+48) 500 123 456
)
# Landlines: two-digit area code, then seven digits.
_LANDLINE_STYLES: tuple[_PhoneStyle, ...] = (
    lambda n: f"{n[:2]} {n[2:5]} {n[5:7]} {n[7:]}",  # 22 123 45 67
    lambda n: f"({n[:2]}) {n[2:5]}-{n[5:7]}-{n[7:]}",  # (22) 123-45-67
    lambda n: f"+48 {n[:2]} {n[2:5]} {n[5:7]} {n[7:]}",  # +48 22 123 45 67
)

_STREET_PREFIXES = ("ul.",) * 12 + ("al.", "al.", "pl.", "os.")

_TO_ASCII = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")
_NOT_IN_LOCAL_PART = re.compile(r"[^a-z0-9-]")

_FIRST_CUSTOMER_NO = 10_001


@dataclass(frozen=True, slots=True)
class _Permutation:
    """A keyed bijection of ``range(size)``: a balanced Feistel network plus cycle walking."""

    size: int
    half_bits: int
    tables: tuple[tuple[int, ...], ...]

    def __call__(self, index: int) -> int:
        half, mask, x = self.half_bits, (1 << self.half_bits) - 1, index
        while True:
            left, right = x >> half, x & mask
            for table in self.tables:
                left, right = right, left ^ table[right]
            x = (left << half) | right
            if x < self.size:
                return x


@functools.lru_cache(maxsize=8)
def _phone_permutation(seed: int) -> _Permutation:
    half_bits = (MAX_CONTACTS.bit_length() + 1) // 2
    rng = random.Random(f"custos-demo-phones-{seed}")  # noqa: S311 - demo data, not a secret
    tables = tuple(tuple(rng.getrandbits(half_bits) for _ in range(1 << half_bits)) for _ in range(_FEISTEL_ROUNDS))
    return _Permutation(size=MAX_CONTACTS, half_bits=half_bits, tables=tables)


def _national_number(position: int) -> str:
    block, subscriber = divmod(position, _BLOCK_SIZE)
    return f"{_BLOCKS[block]}{subscriber:06d}"


def _check_count(count: int) -> None:
    if not 0 <= count <= MAX_CONTACTS:
        raise ValueError(f"count must be between 0 and {MAX_CONTACTS}, got {count}")


def phone_e164(index: int, *, seed: int = DEFAULT_SEED) -> str:
    """Return the phone number of one generated row in E.164 form.

    Args:
        index: Zero-based row number within the list generated with ``seed``.
        seed: The seed given to :func:`generate_contacts`.

    Returns:
        The number as ``+48`` followed by nine digits (ITU-T E.164), e.g. ``"+48500123456"``,
        whatever way the row's ``Telefon`` column writes it.

    Raises:
        ValueError: If ``index`` is negative or not below :data:`MAX_CONTACTS`.
    """
    if not 0 <= index < MAX_CONTACTS:
        raise ValueError(f"index must be between 0 and {MAX_CONTACTS - 1}, got {index}")
    return "+48" + _national_number(_phone_permutation(seed)(index))


def expected_phones(count: int, *, seed: int = DEFAULT_SEED) -> list[str]:
    """Return the E.164 phone numbers of the first ``count`` rows, without generating the rows.

    Args:
        count: Number of rows.
        seed: The seed given to :func:`generate_contacts`.

    Returns:
        ``count`` distinct strings; element ``i`` is :func:`phone_e164` of row ``i``.

    Raises:
        ValueError: If ``count`` is negative or above :data:`MAX_CONTACTS`.
    """
    _check_count(count)
    permutation = _phone_permutation(seed)
    return ["+48" + _national_number(permutation(i)) for i in range(count)]


@dataclass(frozen=True, slots=True)
class _Pools:
    """Faker-drawn values for one seed; names are ``(display, e-mail slug)`` pairs."""

    female_first: tuple[tuple[str, str], ...]
    female_last: tuple[tuple[str, str], ...]
    male_first: tuple[tuple[str, str], ...]
    male_last: tuple[tuple[str, str], ...]
    cities: tuple[str, ...]
    postcode_heads: Mapping[str, str]
    streets: tuple[str, ...]
    email_domains: tuple[str, ...]


def _cp1250_safe(value: str) -> bool:
    try:
        value.encode("cp1250")
    except UnicodeEncodeError:
        return False
    return True


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name.translate(_TO_ASCII)).encode("ascii", "ignore").decode("ascii")
    return _NOT_IN_LOCAL_PART.sub("", ascii_name.lower())


def _name_pool(draw: Callable[[], str], size: int) -> tuple[tuple[str, str], ...]:
    names = (draw() for _ in range(size))
    return tuple((name, _slug(name)) for name in names if _cp1250_safe(name) and _slug(name))


@functools.lru_cache(maxsize=2)
def _build_pools(seed: int) -> _Pools:
    fake = Faker("pl_PL")
    fake.seed_instance(seed)
    female_first = _name_pool(fake.first_name_female, 800)
    female_last = _name_pool(fake.last_name_female, 2000)
    male_first = _name_pool(fake.first_name_male, 800)
    male_last = _name_pool(fake.last_name_male, 2000)
    cities = tuple(city for city in (fake.city() for _ in range(1000)) if _cp1250_safe(city))
    postcode_heads: dict[str, str] = {}
    for city in cities:
        postcode_heads.setdefault(city, fake.postcode()[:4])  # "NN-N": same region per city
    streets = tuple(street for street in (fake.street_name() for _ in range(2000)) if _cp1250_safe(street))
    email_domains = tuple(fake.free_email_domain() for _ in range(200))
    return _Pools(
        female_first=female_first,
        female_last=female_last,
        male_first=male_first,
        male_last=male_last,
        cities=cities,
        postcode_heads=postcode_heads,
        streets=streets,
        email_domains=email_domains,
    )


def _email(rng: random.Random, first: str, last: str, domain: str) -> str:
    style = rng.randrange(7)
    if style == 0:
        local = f"{first}.{last}"
    elif style == 1:
        local = f"{first[0]}.{last}"
    elif style == 2:
        local = f"{first}{last}"
    elif style == 3:
        local = f"{first}_{last}"
    elif style == 4:
        local = f"{last}.{first}"
    elif style == 5:
        local = f"{first}.{last}{rng.randrange(1, 100)}"
    else:
        local = f"{first[0]}{last}{rng.randrange(1950, 2008)}"
    return f"{local}@{domain}"


def generate_contacts(count: int, *, seed: int = DEFAULT_SEED) -> Iterator[dict[str, str]]:
    """Yield a realistic, synthetic Polish contact list, one row at a time.

    The same ``count`` and ``seed`` give the same rows (for a given Faker version), and the
    first ``n`` rows of a longer list equal the rows of a list of ``n``. Memory stays flat
    however many rows are drawn; roughly 100,000 rows per second on a laptop.

    Args:
        count: Number of rows, from 0 to :data:`MAX_CONTACTS`.
        seed: Seed for Faker's pools, the row mix and the phone permutation.

    Yields:
        Dicts keyed by :data:`COLUMNS`, every value a ``str`` encodable in Windows-1250:
        ``Imię``/``Nazwisko`` (gender-consistent, with Polish diacritics), ``Telefon`` (a
        valid Polish mobile or landline number, unique within the list, written in one of
        several spreadsheet styles such as ``500 123 456``, ``+48500123456`` or
        ``(22) 123-45-67``; its E.164 form is :func:`phone_e164` of the row index),
        ``E-mail`` (ASCII, derived from the name), ``Miasto``, ``Adres`` (street and
        number), ``Kod pocztowy`` (``NN-NNN``) and ``Nr klienta`` (``KL-`` and at least
        eight digits, unique within the list).

    Raises:
        ValueError: If ``count`` is negative or above :data:`MAX_CONTACTS` (raised on the
            first ``next()``, as for any generator).
    """
    _check_count(count)
    pools = _build_pools(seed)
    permutation = _phone_permutation(seed)
    rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
    choice, randrange, heads = rng.choice, rng.randrange, pools.postcode_heads
    for index in range(count):
        if rng.random() < 0.5:
            first, first_slug = choice(pools.female_first)
            last, last_slug = choice(pools.female_last)
        else:
            first, first_slug = choice(pools.male_first)
            last, last_slug = choice(pools.male_last)
        position = permutation(index)
        styles = _LANDLINE_STYLES if position >= _FIRST_LANDLINE_BLOCK * _BLOCK_SIZE else _MOBILE_STYLES
        city = choice(pools.cities)
        address = f"{choice(_STREET_PREFIXES)} {choice(pools.streets)} {randrange(1, 200)}"
        if randrange(100) < 45:
            address += f"/{randrange(1, 120)}"
        yield {
            "Imię": first,
            "Nazwisko": last,
            "Telefon": choice(styles)(_national_number(position)),
            "E-mail": _email(rng, first_slug, last_slug, choice(pools.email_domains)),
            "Miasto": city,
            "Adres": address,
            "Kod pocztowy": f"{heads[city]}{randrange(100):02d}",
            "Nr klienta": f"KL-{_FIRST_CUSTOMER_NO + index:08d}",
        }


def write_polish_excel_csv(rows: Iterable[Mapping[str, str]], path: str | os.PathLike[str]) -> int:
    """Write rows as Polish Excel saves "CSV (rozdzielany przecinkami)".

    That is Windows-1250 text, ``;`` between fields, CRLF line ends, fields quoted only when
    they contain ``;``, ``"`` or a line break, and the :data:`COLUMNS` header first. Rows are
    streamed; the file is written to a temporary sibling, fsynced and moved into place with
    :func:`os.replace`, so readers never see half a file and an existing file is replaced.
    Like any :func:`tempfile.mkstemp` file it is readable by its owner only (mode 0600 on POSIX).

    Args:
        rows: Mappings holding at least every key of :data:`COLUMNS`; other keys are ignored.
        path: Destination file; its directory must exist.

    Returns:
        The number of data rows written (the header not counted).

    Raises:
        KeyError: If a row lacks a column.
        UnicodeEncodeError: If a value has a character Windows-1250 cannot encode.
        OSError: If the file cannot be written. In every error case no file is left behind.
    """
    target = Path(path)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    written = 0
    try:
        with open(fd, "w", encoding="cp1250", errors="strict", newline="") as handle:
            writer = csv.writer(handle, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
            writer.writerow(COLUMNS)
            for row in rows:
                writer.writerow([row[column] for column in COLUMNS])
                written += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return written


def write_sample(path: str | os.PathLike[str], count: int, seed: int = DEFAULT_SEED) -> int:
    """Generate ``count`` contacts and write them as a Polish Excel CSV file.

    Args:
        path: Destination file (see :func:`write_polish_excel_csv`).
        count: Number of rows, from 0 to :data:`MAX_CONTACTS`.
        seed: Seed for :func:`generate_contacts`.

    Returns:
        The number of data rows written, equal to ``count``.

    Raises:
        ValueError: If ``count`` is out of range.
        OSError: If the file cannot be written.
    """
    _check_count(count)
    return write_polish_excel_csv(generate_contacts(count, seed=seed), path)
