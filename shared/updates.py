"""What the update repository and the client agree on: platforms, release versions, target ``custom`` info.

A release version is dotted numbers (``0.2.0``, ``1.10``): up to four parts of
at most six digits each, compared part by part as numbers (``1.10`` > ``1.9``).
"""

from __future__ import annotations

import re
from typing import Literal

from shared.errors import ValidationError

__all__ = ["PLATFORMS", "Platform", "parse_version", "platform_for_file", "release_info"]

Platform = Literal["linux", "windows"]
PLATFORMS: tuple[Platform, ...] = ("linux", "windows")
_VERSION_RE = re.compile(r"^[0-9]{1,6}(?:\.[0-9]{1,6}){0,3}$")
_SUFFIXES: dict[str, Platform] = {".deb": "linux", ".exe": "windows", ".msi": "windows"}


def parse_version(text: str) -> tuple[int, ...]:
    """Parse a release version into comparable numbers.

    Args:
        text: ``"0.2.0"`` and the like.

    Returns:
        The parts as integers, trailing zeros dropped (``1.0`` == ``1``).

    Raises:
        ValidationError: Not dotted numbers.
    """
    if not _VERSION_RE.fullmatch(text):
        raise ValidationError(f"version {text!r} must be dotted numbers such as 0.2.0")
    parts = [int(part) for part in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def platform_for_file(name: str) -> Platform | None:
    """The platform an installer's file name implies (``.deb`` linux; ``.exe``/``.msi`` windows), else None."""
    lowered = name.lower()
    for suffix, platform in _SUFFIXES.items():
        if lowered.endswith(suffix):
            return platform
    return None


def release_info(custom: object) -> tuple[str, Platform] | None:
    """Read ``{"version": ..., "platform": ...}`` from a target's ``custom`` field; None when it is not a release."""
    if not isinstance(custom, dict):
        return None
    version, platform = custom.get("version"), custom.get("platform")
    if not isinstance(version, str) or platform not in PLATFORMS:
        return None
    try:
        parse_version(version)
    except ValidationError:
        return None
    return version, platform
