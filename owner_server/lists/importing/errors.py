"""The one error the importer raises for a file it cannot read as a whole."""

from __future__ import annotations

from shared.errors import ValidationError

__all__ = ["ImportFileError"]


class ImportFileError(ValidationError):
    """The file (not one row of it) cannot be imported; nothing was read into the list.

    Messages name the problem and, where useful, a record number; they never
    quote cell values, so they are safe to log and show.
    """
