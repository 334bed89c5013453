"""Leak checks: does a text hold a phone number, in any of the forms a person or a program writes it?

A check for a short digit run such as ``"555" not in output`` fails at random whenever the output
holds a random hex reference or hash, and passes when the number leaks in another grouping. These
checks look for the whole national significant number (ITU-T E.164), however it is separated.
"""

from __future__ import annotations

import re

SEPARATORS = r"[\s\-./()\u00a0\u202f]{0,3}"


def national_digits(number: str) -> str:
    """The national significant number of a Polish number written in any form.

    Args:
        number: ``"+48 22 555 01 01"``, ``"225550101"``, ``"0048 500-000-001"`` …

    Returns:
        The digits without the country code, e.g. ``"225550101"``.
    """
    digits = re.sub(r"\D", "", number)
    for prefix in ("0048", "48"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 9:
            return digits[len(prefix) :]
    return digits


def phone_pattern(number: str) -> re.Pattern[str]:
    """A pattern matching the number's national digits with up to three separators between any two."""
    return re.compile(SEPARATORS.join(re.escape(d) for d in national_digits(number)))


def assert_no_phone(text: str, *numbers: str) -> None:
    """Fail if ``text`` holds any of ``numbers`` (the message names the number's position, never the text)."""
    for index, number in enumerate(numbers):
        assert not phone_pattern(number).search(text), f"phone number #{index} appears in the text"
