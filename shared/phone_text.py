"""Finding phone numbers inside free text, however they are written.

A field the policy shows (visible or masked) must never carry a phone number
to an agent. People, spreadsheets and the odd deliberate hand write numbers
with thin or no-break spaces (U+2009, U+202F, U+00A0), en dashes, fullwidth
digits or look-alike letters ("5OO l23 456"). :func:`fold_phone_text` turns
all of these into plain ASCII digits, spaces and separators first; the checks
then run on the folded text.

Look-alike letters (``O`` for 0, ``l``/``I``/``|`` for 1, ``S`` for 5, ``B`` for
8 and a few more, Latin, Greek and Cyrillic) are read as digits only inside a
*number run*: groups of digits and look-alikes separated by spaces, dashes,
dots, slashes or parentheses, with no other letter touching the run. A group
is read as digits when it holds a real digit ("5OO", "l23"); a group of
look-alikes alone ("OOO") only when real-digit groups sit on both sides of it
and it is not a Roman numeral ("12 III 2024" is a date). Names and words
("Ola", "Zosia", "SOS", "ul. Lipowa 5") are left as they are.

Sources: ITU-T E.164 (a number has at most 15 digits; Polish national
numbers have nine); Unicode categories Nd, Zs, Pd, Cf (UAX #44);
libphonenumber's ``PhoneNumberMatcher``.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers

__all__ = ["LOOKALIKE_DIGITS", "contains_phone_number", "fold_phone_text"]

#: Letters (and ``|``) read as a digit when they sit among digits.
LOOKALIKE_DIGITS: dict[str, str] = {
    **dict.fromkeys("OoОоΟοՕ", "0"),  # Latin, Cyrillic, Greek, Armenian O
    **dict.fromkeys("lI|ıіІӏӀǀΙ", "1"),  # l, I, bar, dotless i, Cyrillic/Greek I, palochka, click
    **dict.fromkeys("Zz", "2"),
    **dict.fromkeys("Зз", "3"),  # Cyrillic Ze
    **dict.fromkeys("SsЅѕ", "5"),
    **dict.fromkeys("bGб", "6"),
    **dict.fromkeys("BВ", "8"),  # Latin B, Cyrillic Ve
    **dict.fromkeys("gq", "9"),
}
_TO_DIGITS = str.maketrans(LOOKALIKE_DIGITS)

_DOTS = frozenset("·•‧∙⋅・˙")
_SLASHES = frozenset("⁄∕⧸")
_MINUS = frozenset("−⁃")

_LOOK = re.escape("".join(LOOKALIKE_DIGITS))
_TOKEN = f"[0-9{_LOOK}]+"
_SEP = r"[ \-./()]+"
#: A number run: digit-or-look-alike groups between separators, no other letter touching it.
_RUN = re.compile(rf"(?<![^\W\d_]){_TOKEN}(?:{_SEP}{_TOKEN})*(?![^\W\d_])")
_SPLIT = re.compile(f"({_SEP})")

_DIGIT_SEPARATORS = re.compile(r"[._\-/()'~]+")
_LONG_DIGIT_RUN = re.compile(r"\d{9,}")
_MIN_DIGITS = 6


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """One non-ASCII character (already NFKC) in the folded alphabet."""
    category = unicodedata.category(ch)
    if category == "Nd":
        return str(unicodedata.decimal(ch))
    if category in ("Zs", "Zl", "Zp"):
        return " "
    if category == "Pd" or ch in _MINUS:
        return "-"
    if category == "Cf":
        return ""  # zero-width space, word joiner, soft hyphen, BOM: invisible
    if ch in _DOTS:
        return "."
    if ch in _SLASHES:
        return "/"
    return ch


def _read_run(match: re.Match[str]) -> str:
    parts = _SPLIT.split(match.group(0))
    tokens = parts[0::2]
    real = [any(c.isdigit() for c in t) for t in tokens]
    for i, token in enumerate(tokens):
        between_digits = 0 < i < len(tokens) - 1 and real[i - 1] and real[i + 1]
        if real[i] or (between_digits and set(token) != {"I"}):  # "III" between digits: a Roman month
            tokens[i] = token.translate(_TO_DIGITS)
    parts[0::2] = tokens
    return "".join(parts)


def fold_phone_text(value: str) -> str:
    """Rewrite text so that a phone number in it reads as plain ASCII digits.

    NFKC first (fullwidth and other compatibility digits, letters and
    punctuation become ASCII); then every decimal digit becomes ASCII, every
    Unicode space (and tab) a space, every dash and minus ``-``, dot-like
    marks ``.``, slash-like marks ``/``; invisible format characters go; and
    look-alike letters inside number runs become digits (see the module).

    Args:
        value: Any text.

    Returns:
        The folded text (for checking only, never shown).
    """
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
        value = "".join(ch if ch.isascii() else _fold_char(ch) for ch in value)
    value = value.replace("\t", " ").replace("\v", " ").replace("\f", " ")
    return _RUN.sub(_read_run, value)


def contains_phone_number(value: str, region: str = "PL") -> bool:
    """Tell whether free text holds a phone number, however it is written.

    Args:
        value: Any field value.
        region: Region for numbers written without a country code.

    Returns:
        True when, after :func:`fold_phone_text`, libphonenumber's matcher
        finds a valid number for any country, or the text holds a run of nine
        or more digits once dots, dashes, underscores, slashes, parentheses,
        apostrophes and tildes are ignored (a number glued to words or split
        oddly: the matcher wants word boundaries).
    """
    folded = fold_phone_text(value)
    if sum(ch.isdigit() for ch in folded) < _MIN_DIGITS:
        return False
    if _LONG_DIGIT_RUN.search(_DIGIT_SEPARATORS.sub("", folded)):
        return True
    return any(True for _ in phonenumbers.PhoneNumberMatcher(folded, region, leniency=phonenumbers.Leniency.VALID))
