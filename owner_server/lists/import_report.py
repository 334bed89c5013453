"""The report of an import: counts and record numbers, never a row's personal data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from owner_server.lists.importing.normalise import RejectedRow
from owner_server.lists.warning_tally import WarningTally

__all__ = ["DuplicateRow", "ImportReport"]


@dataclass(frozen=True, slots=True)
class DuplicateRow:
    """A record whose phone is already in the file or the campaign.

    Attributes:
        record_no: The duplicate record's number in the file.
        first_record_no: The earlier record in the same file, or None when the
            match is a contact imported before.
    """

    record_no: int
    first_record_no: int | None


@dataclass(slots=True)
class ImportReport:
    """Counts and per-record findings; never holds a row's personal data.

    ``warnings`` (repaired numbers, dropped second phones) is a
    :class:`WarningTally`: 4 bytes a warning, so a million repaired records
    stay a few megabytes. :meth:`as_dict` leaves them out;
    :meth:`warning_dicts` gives them one at a time for a streamed ``--json``.
    """

    imported: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    duplicates: list[DuplicateRow] = field(default_factory=list)
    warnings: WarningTally = field(default_factory=WarningTally)
    blank_records: int = 0
    suppressed: int = 0
    batch_id: int | None = None

    def as_dict(self, *, with_warnings: bool = True) -> dict[str, object]:
        """A JSON-ready form.

        Args:
            with_warnings: Include the ``warnings`` list (every warning as a dict);
                False leaves it out, for a caller that streams :meth:`warning_dicts`.
                ``warning_counts`` (per code) is always there.
        """
        return {
            "imported": self.imported,
            "rejected": len(self.rejected),
            "duplicates": len(self.duplicates),
            "rejected_records": [
                {"record": r.record_no, "code": r.reason_code, "reason": r.reason} for r in self.rejected
            ],
            "duplicate_records": [
                {"record": d.record_no, "duplicate_of_record": d.first_record_no} for d in self.duplicates
            ],
            "warning_counts": self.warnings.counts(),
            "blank_records_skipped": self.blank_records,
            "suppressed_by_dnc": self.suppressed,
            **({"warnings": list(self.warning_dicts())} if with_warnings else {}),
        }

    def warning_dicts(self) -> Iterator[dict[str, object]]:
        """Every warning as ``{"record", "code", "reason"}``, made one at a time."""
        for w in self.warnings:
            yield {"record": w.record_no, "code": w.reason_code, "reason": w.reason}
