"""A fast, exact validity check for Polish national numbers.

``phonenumbers.is_valid_number`` costs several microseconds; an import of a
million rows calls it a million times. This module compiles the same rules from
phonenumbers' own PL metadata once (a number is valid when it matches the
general description and at least one number-type description, each by possible
length and full pattern match) and checks a 9-digit string in well under a
microsecond. A test compares it with ``phonenumbers.is_valid_number`` over many
generated numbers, so a phonenumbers upgrade that changes the rules is caught.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from phonenumbers import PhoneMetadata

__all__ = ["pl_national_is_valid"]

_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


def _desc_matches(desc: Any, length: int) -> str | None:
    """The pattern of ``desc`` if it applies to numbers of ``length`` digits."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = desc.possible_length or ()
    if lengths and length not in lengths:
        return None
    return str(desc.national_number_pattern)


def _compile(region: str) -> Callable[[str], bool]:
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:  # pragma: no cover - PL metadata ships with phonenumbers
        raise RuntimeError("phonenumbers has no metadata for the region")
    general = metadata.general_desc
    if general is None:  # pragma: no cover
        raise RuntimeError("phonenumbers has no general description for the region")
    by_length: dict[int, re.Pattern[str]] = {}
    for length in general.possible_length:
        general_pattern = _desc_matches(general, length)
        types = [p for name in _TYPE_DESCS if (p := _desc_matches(getattr(metadata, name), length))]
        if general_pattern and types:
            union = "|".join(f"(?:{p})" for p in types)
            by_length[length] = re.compile(f"(?=(?:{general_pattern})$)(?:{union})")

    def is_valid(national: str) -> bool:
        pattern = by_length.get(len(national))
        return pattern is not None and pattern.fullmatch(national) is not None

    return is_valid


#: True when a string of ASCII digits (no leading zero) is a valid PL national number.
pl_national_is_valid: Callable[[str], bool] = _compile("PL")
