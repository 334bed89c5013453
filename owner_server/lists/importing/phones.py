"""One phone cell in, one dialable E.164 number (or a reason why not) out.

The rules are written for lists typed by people into spreadsheets: separators and
no-break spaces are ignored, ``00`` and ``(+48)`` are international prefixes, a
legacy Polish trunk ``0`` is dropped, extensions are kept apart, and anything that
would need a guess (letters, several numbers, digits lost to Excel's scientific
notation, decimals) is rejected. Validity is ``phonenumbers.is_valid_number``.

Reasons never contain digits, so a reject report cannot leak a number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

from owner_server.lists.importing.errors import ImportFileError
from owner_server.lists.importing.plvalid import pl_national_is_valid

__all__ = ["REPAIRS", "PhoneOk", "PhoneRejected", "check_region", "normalise_phone"]


@dataclass(frozen=True, slots=True)
class PhoneOk:
    """A number that can be dialled.

    Attributes:
        e164: The number in E.164 form (``+48500000001``); never holds an extension.
        extension: The extension digits (``"123"``), or None.
        repair: What was changed to make the cell dialable, for the report's
            warnings: ``"trunk_zero"`` (a legacy ``0`` dropped: ``022 …``,
            ``(0-22) …``, ``+48 (0) 22 …``), ``"float_artefact"`` (a spreadsheet's
            ``.0`` tail dropped, only with ``accept_float_artefacts``), or None.
    """

    e164: str
    extension: str | None = None
    repair: str | None = None


@dataclass(frozen=True, slots=True)
class PhoneRejected:
    """A cell that does not hold exactly one valid number.

    Attributes:
        reason_code: Stable machine code, e.g. ``"scientific_notation"``.
        reason: A sentence for the owner; contains no digits of the input.
    """

    reason_code: str
    reason: str


def _reject(code: str) -> PhoneRejected:
    return PhoneRejected(code, _REASONS[code])


_REASONS = {
    "empty": "The phone number is empty.",
    "no_number": "The phone cell holds a placeholder (such as 'brak' or only zeros) instead of a number.",
    "scientific_notation": (
        "The digits of the phone number were lost to Excel's scientific notation; "
        "re-export the phone column formatted as text."
    ),
    "decimal_number": (
        "The phone number was saved as a decimal number; re-export the phone column formatted as text "
        "(or, if only a trailing decimal point and zero were added, import with --accept-float-artefacts)."
    ),
    "spreadsheet_error": (
        "The phone cell holds a spreadsheet error value (such as #N/A or #VALUE!) instead of a number; "
        "fix the formula in the sheet."
    ),
    "several_numbers": "The phone cell seems to hold more than one number; put one number per column.",
    "letters": "The phone number contains letters; letters are never read as digits.",
    "invalid_characters": "The phone number contains characters that do not belong in a phone number.",
    "invalid_number": "The phone number has a wrong length or is not in a valid numbering range.",
    "too_long": "The phone cell is far longer than any phone number.",
}

#: Warnings for :attr:`PhoneOk.repair` codes (digit-free, like the reasons).
REPAIRS = {
    "trunk_zero": "repaired: a legacy trunk zero was dropped from the phone number; check it is the right number.",
    "float_artefact": "repaired: a spreadsheet's trailing decimal point and zero were dropped from the phone number.",
}

# Unicode spaces people and spreadsheets put between digit groups.
_SPACE_CHARS = "\t\r\n\v\f\u00a0\u2007\u2009\u202f\u200b\u3000"
_SPACES_TO_BLANK = str.maketrans({c: " " for c in _SPACE_CHARS})
# Characters removed before the digits are read (the fast paths remove the same
# set minus ".", which needs the slow path's checks; the first fast path keeps
# parentheses too, the second checks where a "+" stands among them).
_SEPARATORS = str.maketrans("", "", " -.()\u2010\u2011\u2012\u2013\u2014\u2212")
_FAST_DELETE = str.maketrans("", "", " -" + _SPACE_CHARS)
_FAST_DELETE_PARENS = str.maketrans("", "", " -()" + _SPACE_CHARS)
_PLUS_MAY_FOLLOW = "( " + _SPACE_CHARS  # what the full rules allow before a "+"

_PLACEHOLDERS = frozenset(
    {"", "brak", "brakdanych", "braknumeru", "bd", "na", "niema", "none", "null", "nan", "nil", "x", "xx", "xxx"}
)
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?\s*e\s*[+-]?\s*\d+")
_DECIMAL = re.compile(r"\d+[.,]0+")
_FLOAT_ARTEFACT = re.compile(r"\+?\d+\.0")  # exactly one ".0": what a float column adds to an integer
# Excel/LibreOffice error values in English and Polish: #N/A, #N/D, #VALUE!, #ARG!, #DZIEL/0!, #NAZWA? ...
_SPREADSHEET_ERROR = re.compile(r"#[a-ząćęłńóśźż0-9/_.]{1,16}[!?]?")
_LABEL = re.compile(r"(?:tel|telefon|kom|mob|mobile|phone|gsm)\b\s*[.:]?\s*")
_EXTENSION = re.compile(
    r"(?P<num>.*?[\d)])\s*[,;]?\s*(?:wewn|wew|w|ext|extension|x|#)\s*[.:]?\s*(?:#\s*)?(?P<ext>\d{1,8})"
)
_SEVERAL = re.compile(r"[/,;|&\\]|\s(?:lub|albo|or|i|oraz|and)\s")
_ALLOWED = frozenset("0123456789 -.()+\u2010\u2011\u2012\u2013\u2014\u2212")
_MAX_DIGITS = 15  # E.164: a longer digit run must be more than one number
_MAX_CELL_CHARS = 64  # longer is never one number; also bounds the regex work per cell
# Regions whose numbers lost a trunk "0" that old lists still carry (PL since 2005).
_LEGACY_TRUNK_ZERO = frozenset({"PL"})


@lru_cache(maxsize=32)
def check_region(region: str) -> int:
    """The country calling code of a region, checking the region exists.

    Args:
        region: ISO 3166 region code, e.g. ``"PL"``.

    Returns:
        The calling code, e.g. 48.

    Raises:
        ImportFileError: If phonenumbers does not know the region.
    """
    code: int = phonenumbers.country_code_for_region(region)
    if code == 0:
        raise ImportFileError("The phone region is not a region code phonenumbers knows (e.g. PL).")
    return code


def normalise_phone(raw: str, region: str = "PL", *, accept_float_artefacts: bool = False) -> PhoneOk | PhoneRejected:
    """Read one phone cell.

    Args:
        raw: The cell text as read from the file; a leading apostrophe (the
            spreadsheet text marker a formula-safe export adds) is ignored.
        region: ISO 3166 region of national (non-``+``) numbers, e.g. ``"PL"``.
        accept_float_artefacts: Read ``607924402.0`` as ``607924402`` (exactly one
            ``.0`` tail; any other decimal is still rejected), with a repair noted.

    Returns:
        PhoneOk with the E.164 number and extension, or PhoneRejected with a code
        and a digit-free sentence.

    Raises:
        ImportFileError: If ``region`` is not a region phonenumbers knows.
    """
    if raw[:1] == "'":  # Excel's text marker, as our own CSV export writes it
        raw = raw[1:]
    if region == "PL":
        fast = _fast_pl(raw)
        if fast is not None:
            return fast
    check_region(region)
    return _slow(raw, region, accept_float_artefacts)


def _fast_pl(raw: str) -> PhoneOk | None:
    """Clean digit-only Polish numbers; None means "ask the full rules"."""
    t = raw.translate(_FAST_DELETE)
    if t[:1] == "+":
        t = t[1:]
        if len(t) != 11 or t[:2] != "48":
            return _fast_pl_more(raw)
        t = t[2:]
    elif len(t) == 11 and t[:2] == "48":
        t = t[2:]
    elif len(t) != 9:
        return _fast_pl_more(raw)
    if t.isascii() and t.isdigit() and t[0] != "0" and pl_national_is_valid(t):
        return PhoneOk("+48" + t)
    return _fast_pl_more(raw)


def _fast_pl_more(raw: str) -> PhoneOk | None:
    """The other common spreadsheet styles of a Polish number, exactly as the full rules read them.

    ``0048 500 123 456``, ``(+48) 500 123 456``, ``(22) 123-45-67``,
    ``0 22 123 45 67`` / ``(022) 123 45 67`` (legacy trunk zero): separators and
    parentheses are dropped and the nine national digits checked. It answers
    only for cells of ASCII digits, blanks, ``-``, parentheses and at most one
    ``+``, where the full rules' placeholder, notation, label, extension and
    several-numbers checks cannot apply; the two that can are kept: a cell over
    :data:`_MAX_CELL_CHARS` is too long, and a ``+`` must open the cell (only
    blanks and ``(`` before it). Anything else: None.
    """
    if len(raw) > _MAX_CELL_CHARS:
        return None
    repair = None
    t = raw.translate(_FAST_DELETE_PARENS)
    if t[:1] == "+":
        if raw.lstrip(_PLUS_MAY_FOLLOW)[:1] != "+" or len(t) != 12 or t[1:3] != "48":
            return None
        t = t[3:]
    elif len(t) == 13 and t[:4] == "0048":
        t = t[4:]
    elif len(t) == 10 and t[0] == "0":
        t = t[1:]
        repair = "trunk_zero"
    elif len(t) == 11 and t[:2] == "48":
        t = t[2:]
    elif len(t) != 9:
        return None
    if t.isascii() and t.isdigit() and t[0] != "0" and pl_national_is_valid(t):
        return PhoneOk("+48" + t, None, repair)
    return None


def _slow(raw: str, region: str, accept_float_artefacts: bool = False) -> PhoneOk | PhoneRejected:
    text = " ".join(raw.translate(_SPACES_TO_BLANK).split()).casefold()
    if not text:
        return _reject("empty")
    if len(text) > _MAX_CELL_CHARS:
        return _reject("too_long")
    if _SPREADSHEET_ERROR.fullmatch(text):
        return _reject("spreadsheet_error")
    if "".join(ch for ch in text if ch.isalnum()) in _PLACEHOLDERS:
        return _reject("no_number")
    if _SCIENTIFIC.fullmatch(text):
        return _reject("scientific_notation")
    if accept_float_artefacts and _FLOAT_ARTEFACT.fullmatch(text):
        read = _slow(text[:-2], region)
        return PhoneOk(read.e164, read.extension, "float_artefact") if isinstance(read, PhoneOk) else read
    if _DECIMAL.fullmatch(text):
        return _reject("decimal_number")
    label = _LABEL.match(text)
    if label and label.end() < len(text):
        text = text[label.end() :]
    extension = None
    ext = _EXTENSION.fullmatch(text)
    if ext:
        text, extension = ext.group("num"), ext.group("ext")
    return _classify(text, extension, region)


def _classify(text: str, extension: str | None, region: str) -> PhoneOk | PhoneRejected:
    if _SEVERAL.search(text) or text.count("+") > 1:
        return _reject("several_numbers")
    text = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)
    if not set(text) <= _ALLOWED:
        return _reject("letters" if any(ch.isalpha() for ch in text) else "invalid_characters")
    plus = "+" in text
    if plus and text.lstrip("( ")[:1] != "+":
        return _reject("invalid_characters")
    digits = text.translate(_SEPARATORS).lstrip("+")
    if not digits.strip("0"):
        return _reject("no_number")
    if len(digits) > _MAX_DIGITS + (2 if digits.startswith("00") else 0):
        return _reject("several_numbers")
    number, repaired = _to_number(digits, plus, region)
    if number is None:
        return _reject("invalid_number")
    return PhoneOk(phonenumbers.format_number(number, PhoneNumberFormat.E164), extension, repaired)


def _to_number(digits: str, plus: bool, region: str) -> tuple[PhoneNumber | None, str | None]:
    """The number, and ``"trunk_zero"`` when a legacy trunk zero had to be dropped."""
    if plus or digits.startswith("00"):
        return _international(digits[0 if plus else 2 :])
    trunk = digits.startswith("0") and region in _LEGACY_TRUNK_ZERO
    if trunk:
        digits = digits[1:]
    national = _national(digits, region)
    if national is not None:
        return national, "trunk_zero" if trunk else None
    if digits.startswith(str(check_region(region))):
        return _international(digits)
    return None, None


def _national(digits: str, region: str) -> PhoneNumber | None:
    code = check_region(region)
    if region in _LEGACY_TRUNK_ZERO:
        # Explicit: phonenumbers.parse would itself strip a leading country code.
        number = PhoneNumber(country_code=code, national_number=int(digits))
        return number if not digits.startswith("0") and phonenumbers.is_valid_number(number) else None
    return _valid(digits, region)


def _international(digits: str) -> tuple[PhoneNumber | None, str | None]:
    number = _valid("+" + digits, None)
    if number is not None:
        return number, None
    # "+48 (0) 22 ..." and "0048 0 22 ...": drop a trunk zero after the country code.
    for length in (1, 2, 3):
        code, rest = digits[:length], digits[length:]
        if rest.startswith("0") and phonenumbers.region_code_for_country_code(int(code)) in _LEGACY_TRUNK_ZERO:
            number = _valid("+" + code + rest[1:], None)
            return number, "trunk_zero" if number is not None else None
    return None, None


def _valid(text: str, region: str | None) -> PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None
