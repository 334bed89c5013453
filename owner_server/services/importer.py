"""Import a contact list into a campaign: normalise, deduplicate, encrypt, publish.

Rows are staged in short transactions (invisible to agents: state
``staged``) and published in one final transaction, so a failure half-way
leaves the campaign exactly as it was and a long import never holds a lock
agents wait on. Duplicates are found by keyed blind index, within the file
and against the campaign's existing contacts, so re-importing a file adds
nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from owner_server.db import session_scope
from owner_server.importing.normalise import NormalisedRow, RejectedRow
from owner_server.models import Contact, ContactState, ImportBatch
from owner_server.services import audit
from owner_server.services.admin import get_campaign
from owner_server.services.keys import KeyService

__all__ = ["DuplicateRow", "ImportReport", "import_rows", "STAGE_BATCH"]

STAGE_BATCH = 2000


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
    """Counts and per-record findings; never holds a row's personal data."""

    imported: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    duplicates: list[DuplicateRow] = field(default_factory=list)
    warnings: list[RejectedRow] = field(default_factory=list)
    blank_records: int = 0
    batch_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
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
        }


def contact_values(row: NormalisedRow) -> dict[str, str]:
    """The personal values stored for a row: its fields plus the phones."""
    values = dict(row.fields)
    values["phone"] = row.phone.e164
    if row.phone.extension:
        values["phone_ext"] = row.phone.extension
    if row.phone2 is not None:
        values["phone2"] = row.phone2.e164
    return values


def import_rows(
    engine: Engine,
    *,
    keys: KeyService,
    campaign_name: str,
    rows: Iterable[NormalisedRow | RejectedRow],
    source_sha256: str,
    actor: str,
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Stage and publish rows into a campaign, all or nothing.

    Args:
        engine: Database engine.
        keys: Key service (campaign data key, blind index key).
        campaign_name: Target campaign.
        rows: Normalised or rejected rows, streamed.
        source_sha256: Hash of the source file, recorded with the batch.
        actor: Who imports, for the audit log.
        dry_run: Compute the full report but write nothing.
        on_progress: Called with the count of records handled so far.

    Returns:
        The report.

    Raises:
        NotFoundError: Unknown campaign.
        CustosError: Any failure; staged rows are removed first.
    """
    report = ImportReport()
    with session_scope(engine) as session:
        campaign = get_campaign(session, name=campaign_name)
        assert campaign.id is not None
        campaign_id = campaign.id
        key = keys.campaign_key(session, campaign_id=campaign_id)
        indexer = keys.indexer(session)
        existing = set(
            session.exec(
                select(Contact.phone_bidx).where(
                    Contact.campaign_id == campaign_id, col(Contact.state) != ContactState.ERASED
                )
            ).all()
        )
        if not dry_run:
            batch = ImportBatch(campaign_id=campaign_id, file_sha256=source_sha256)
            session.add(batch)
            session.flush()
            report.batch_id = batch.id
    seen: dict[bytes, int] = {}
    pending: list[dict[str, object]] = []
    handled = 0
    try:
        for row in rows:
            handled += 1
            if on_progress is not None and handled % 1000 == 0:
                on_progress(handled)
            if isinstance(row, RejectedRow):
                report.rejected.append(row)
                continue
            if row.phone2_rejected is not None:
                report.warnings.append(
                    RejectedRow(
                        row.record_no,
                        row.phone2_rejected.reason_code,
                        "second phone dropped: " + row.phone2_rejected.reason,
                    )
                )
            bidx = indexer.phone(row.phone.e164)
            if bidx in existing or bidx in seen:
                report.duplicates.append(DuplicateRow(row.record_no, seen.get(bidx)))
                continue
            seen[bidx] = row.record_no
            report.imported += 1
            if dry_run:
                continue
            ref = uuid.uuid4().hex
            pending.append(
                {
                    "ref": ref,
                    "campaign_id": campaign_id,
                    "batch_id": report.batch_id,
                    "data_key_id": key.data_key_id,
                    "payload": key.cipher.encrypt_fields(ref, contact_values(row)),
                    "phone_bidx": bidx,
                    "state": ContactState.STAGED,
                    "attempts": 0,
                    "source_record": row.record_no,
                }
            )
            if len(pending) >= STAGE_BATCH:
                _stage(engine, pending)
                pending = []
        if on_progress is not None:
            on_progress(handled)
        if not dry_run:
            _stage(engine, pending)
            _publish(engine, report=report, campaign_id=campaign_id, actor=actor)
    except BaseException:
        if not dry_run:
            _discard(engine, report.batch_id)
        raise
    return report


def _stage(engine: Engine, rows: list[dict[str, object]]) -> None:
    if rows:
        with session_scope(engine) as session:
            session.execute(insert(Contact), rows)


def _publish(engine: Engine, *, report: ImportReport, campaign_id: int, actor: str) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(Contact)
            .where(col(Contact.batch_id) == report.batch_id, col(Contact.state) == ContactState.STAGED)
            .values(state=ContactState.NEW)
        )
        batch = session.get(ImportBatch, report.batch_id)
        assert batch is not None
        batch.status, batch.imported = "published", report.imported
        batch.rejected, batch.duplicates = len(report.rejected), len(report.duplicates)
        session.add(batch)
        audit.append(
            session,
            actor=actor,
            action="contacts_imported",
            object_type="campaign",
            object_id=str(campaign_id),
            details={
                "batch_id": report.batch_id,
                "imported": report.imported,
                "rejected": len(report.rejected),
                "duplicates": len(report.duplicates),
            },
        )


def _discard(engine: Engine, batch_id: int | None) -> None:
    with session_scope(engine) as session:
        session.execute(
            delete(Contact).where(col(Contact.batch_id) == batch_id, col(Contact.state) == ContactState.STAGED)
        )
        batch = session.get(ImportBatch, batch_id)
        if batch is not None:
            batch.status = "failed"
            session.add(batch)
