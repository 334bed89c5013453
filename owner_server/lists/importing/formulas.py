"""Keeping spreadsheet programs from running contact values as formulas.

The importer stores values exactly as given (``=SUM(A1)`` stays ``=SUM(A1)``);
whoever writes values back into a CSV or sheet that a person will open must pass
each text cell through :func:`neutralise_formula`.
"""

from __future__ import annotations

__all__ = ["FORMULA_PREFIXES", "is_formula_like", "neutralise_formula"]

#: First characters that make Excel, LibreOffice or Sheets read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def is_formula_like(value: str) -> bool:
    """Whether a spreadsheet would treat ``value`` as a formula.

    Args:
        value: A cell text.

    Returns:
        True if it starts with one of :data:`FORMULA_PREFIXES`.
    """
    return value.startswith(FORMULA_PREFIXES)


def neutralise_formula(value: str) -> str:
    """Make a text cell safe to open in a spreadsheet.

    A leading apostrophe makes spreadsheets show the text instead of evaluating
    it. Note this also applies to E.164 phone numbers (``+48…``); exporters that
    write phones should write them as typed text cells instead where they can.

    Args:
        value: A cell text.

    Returns:
        ``"'" + value`` if the value is formula-like, else the value unchanged.
    """
    return "'" + value if is_formula_like(value) else value
