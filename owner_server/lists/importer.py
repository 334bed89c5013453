"""Import a contact list into a campaign: normalise, deduplicate, encrypt, publish.

Staging lives in :mod:`.import_staging`, the report in :mod:`.import_report`.

Rows are staged in short transactions, one chunk of :data:`STAGE_BATCH`
records each, as ``new`` contacts of the import's batch, invisible to everyone
until the batch is published (:mod:`.visibility`); publishing is one final
transaction that marks the batch, not each row, so a failure half-way leaves
the campaign exactly as it was and an agent's request waits at most one
chunk's write for the database.

Duplicates are found by keyed blind index in the database, chunk by chunk:
each chunk's indexes are looked up among the campaign's contacts (index
``(campaign_id, phone_bidx)``) inside the transaction that stages it. A match
staged earlier by this import is a duplicate within the file (reported with
that record's number); any other live contact makes it a duplicate of an
existing contact. Nothing grows with the file but the report's lists, so
re-importing a file adds nothing and memory stays flat.

:func:`import_file` prepares large files in worker processes
(:mod:`owner_server.lists.import_workers`) while this process writes;
:func:`import_rows` does everything in process for an already normalised stream.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from datetime import timedelta
from itertools import chain, islice

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from owner_server.audit import log as audit
from owner_server.core.db import session_scope
from owner_server.core.process_identity import Liveness, current_process_identity, liveness
from owner_server.identity.admin import get_campaign
from owner_server.lists.import_report import DuplicateRow, ImportReport
from owner_server.lists.import_workers import (
    ChunkPreparer,
    PreparedChunk,
    StageTarget,
    contact_values,
    default_workers,
    prepare_in_parallel,
)
from owner_server.lists.importing.normalise import NormalisedRow, RejectedRow, normalise_records
from owner_server.lists.importing.pipeline import OpenedFile
from owner_server.lists.staging import Stager
from owner_server.lists.suppression import mark_suppressed
from owner_server.lists.visibility import PUBLISHED, is_staged
from owner_server.models import Campaign, Contact, ContactState, ImportBatch
from owner_server.models._common import utcnow
from owner_server.vault.keys import KeyService
from shared.errors import ConflictError

__all__ = [
    "PARALLEL_MIN_RECORDS",
    "STAGE_BATCH",
    "DuplicateRow",
    "ImportReport",
    "contact_values",
    "import_file",
    "import_rows",
]

#: Records per staging transaction (and per worker chunk).
STAGE_BATCH = 5000
#: Files with fewer records are prepared in process (starting workers costs ~1 s).
PARALLEL_MIN_RECORDS = 5000
#: Staged rows deleted per transaction when an import is undone.
DISCARD_BATCH = 5000
#: Seconds without a staged chunk after which a staging import is taken for dead.
HEARTBEAT_STALE_S = 120


_Chunks = Callable[[ChunkPreparer], Generator[PreparedChunk, None, None]]


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
    """Stage and publish already normalised rows into a campaign, all or nothing, in process.

    Args:
        engine: Database engine.
        keys: Key service (campaign data key, blind index key).
        campaign_name: Target campaign.
        rows: Normalised or rejected rows, streamed, in record order.
        source_sha256: Hash of the source file, recorded with the batch.
        actor: Who imports, for the audit log.
        dry_run: Compute the full report but write nothing.
        on_progress: Called with the count of records handled so far, once per chunk.

    Returns:
        The report.

    Raises:
        NotFoundError: Unknown campaign.
        CustosError: Any failure; staged rows are removed first.
    """

    def chunks(preparer: ChunkPreparer) -> Generator[PreparedChunk, None, None]:
        return _in_process(preparer, rows)

    return _run(
        engine,
        keys=keys,
        campaign_name=campaign_name,
        source_sha256=source_sha256,
        actor=actor,
        dry_run=dry_run,
        on_progress=on_progress,
        chunks=chunks,
    )


def import_file(
    engine: Engine,
    *,
    keys: KeyService,
    campaign_name: str,
    opened: OpenedFile,
    actor: str,
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import an opened file, preparing its records in worker processes when it is large.

    The file is read here; when it has at least :data:`PARALLEL_MIN_RECORDS`
    records, normalising, encrypting and indexing run in ``workers`` processes
    while this process writes. The result is the same as :func:`import_rows`
    over ``opened.rows()`` (record numbers, duplicates, report), bar the
    random refs and nonces.

    Args:
        engine: Database engine.
        keys: Key service.
        campaign_name: Target campaign.
        opened: The file (see :func:`owner_server.lists.importing.pipeline.open_file`).
        actor: Who imports, for the audit log.
        dry_run: Compute the full report but write nothing.
        on_progress: Called with the count of records handled so far, once per chunk.
        workers: Worker processes; None for one per usable CPU, 0 to work in process.

    Returns:
        The report, ``blank_records`` included.

    Raises:
        NotFoundError: Unknown campaign.
        ImportFileError: The file became unreadable while importing.
        CustosError: Any failure; staged rows are removed first.
    """
    count = default_workers() if workers is None else workers

    def chunks(preparer: ChunkPreparer) -> Generator[PreparedChunk, None, None]:
        records = iter(opened.source)
        head = list(islice(records, PARALLEL_MIN_RECORDS))
        if count < 1 or len(head) < PARALLEL_MIN_RECORDS:
            rows = normalise_records(
                chain(head, records),
                opened.mapping,
                region=opened.region,
                accept_float_artefacts=opened.accept_float_artefacts,
            )
            return _in_process(preparer, rows)
        return prepare_in_parallel(
            chain(head, records),
            preparer=preparer,
            mapping=opened.mapping,
            region=opened.region,
            accept_float_artefacts=opened.accept_float_artefacts,
            workers=count,
            chunk_records=STAGE_BATCH,
        )

    report = _run(
        engine,
        keys=keys,
        campaign_name=campaign_name,
        source_sha256=opened.sha256,
        actor=actor,
        dry_run=dry_run,
        on_progress=on_progress,
        chunks=chunks,
    )
    report.blank_records = opened.source.blank_records
    return report


def _in_process(
    preparer: ChunkPreparer, rows: Iterable[NormalisedRow | RejectedRow]
) -> Generator[PreparedChunk, None, None]:
    source = iter(rows)
    while batch := list(islice(source, STAGE_BATCH)):
        yield preparer.prepare(batch)


def _run(
    engine: Engine,
    *,
    keys: KeyService,
    campaign_name: str,
    source_sha256: str,
    actor: str,
    dry_run: bool,
    on_progress: Callable[[int], None] | None,
    chunks: _Chunks,
) -> ImportReport:
    report = ImportReport()
    preparer, target = _begin(
        engine, keys=keys, campaign_name=campaign_name, source_sha256=source_sha256, dry_run=dry_run, report=report
    )
    stager = Stager(engine, target=target, report=report, dry_run=dry_run)
    handled = 0
    prepared = chunks(preparer)
    try:
        for chunk in prepared:
            report.rejected += chunk.rejected
            report.warnings += chunk.warnings
            stager.stage(chunk.rows)
            handled += chunk.handled
            if on_progress is not None:
                on_progress(handled)
        if on_progress is not None:
            on_progress(handled)
        if not dry_run:
            _publish(engine, report=report, campaign_id=target.campaign_id, actor=actor)
    except BaseException:
        prepared.close()  # stops the worker processes before the cleanup
        stager.close()
        if not dry_run:
            _discard(engine, report.batch_id)
        raise
    stager.close()
    return report


def _begin(
    engine: Engine, *, keys: KeyService, campaign_name: str, source_sha256: str, dry_run: bool, report: ImportReport
) -> tuple[ChunkPreparer, StageTarget]:
    """Look up the campaign and its keys and, unless dry, open an import batch."""
    with session_scope(engine) as session:
        campaign = get_campaign(session, name=campaign_name)
        assert campaign.id is not None
        key = keys.campaign_key(session, campaign_id=campaign.id)
        indexer = keys.indexer(session)
        stale: list[int] = []
        if not dry_run:
            stale = _claim_campaign(session, campaign_id=campaign.id)
            batch = ImportBatch(
                campaign_id=campaign.id,
                file_sha256=source_sha256,
                heartbeat_at=utcnow(),
                owner_process=current_process_identity(),
            )
            session.add(batch)
            session.flush()
            report.batch_id = batch.id
    for batch_id in stale:
        _discard(engine, batch_id)  # rows a crashed import left staged: never visible, now gone
    target = StageTarget(campaign.id, report.batch_id, key.data_key_id, ContactState.NEW.name)
    cipher = None if dry_run else key.cipher
    return ChunkPreparer(cipher=cipher, indexer=indexer, target=target), target


def _claim_campaign(session: Session, *, campaign_id: int) -> list[int]:
    """Make this the campaign's only running import.

    The campaign row is locked (``FOR UPDATE`` on PostgreSQL; SQLite writers
    are already exclusive), so two imports cannot start at once. A staging
    batch whose process is gone (same machine: its pid and start time, see
    :mod:`owner_server.core.process_identity`), or, where that cannot be told,
    whose heartbeat is older than :data:`HEARTBEAT_STALE_S`, belonged to an
    import that died; it is marked failed and its ids are returned for cleanup,
    with those of failed batches whose cleanup was cut short.

    Raises:
        ConflictError: Another import into this campaign is running.
    """
    session.exec(select(Campaign).where(Campaign.id == campaign_id).with_for_update()).one()
    unpublished = session.exec(
        select(ImportBatch).where(ImportBatch.campaign_id == campaign_id, col(ImportBatch.status) != PUBLISHED)
    ).all()
    limit = utcnow() - timedelta(seconds=HEARTBEAT_STALE_S)
    stale: list[int] = []
    for other in unpublished:
        if other.status != "staging":  # failed; rows are left only if its discard was cut short
            left = session.exec(select(Contact.id).where(col(Contact.batch_id) == other.id).limit(1)).first()
            if left is not None and other.id is not None:
                stale.append(other.id)
            continue
        beat = other.heartbeat_at or other.created_at
        alive = liveness(other.owner_process)
        if alive is Liveness.ALIVE or (alive is Liveness.UNKNOWN and beat > limit):
            raise ConflictError("another import into this campaign is running; try again when it has finished")
        other.status = "failed"
        session.add(other)
        assert other.id is not None
        stale.append(other.id)
    return stale


def _publish(engine: Engine, *, report: ImportReport, campaign_id: int, actor: str) -> None:
    with session_scope(engine) as session:
        suppressed = report.suppressed = mark_suppressed(session, batch_id=report.batch_id)
        batch = session.get(ImportBatch, report.batch_id)
        assert batch is not None
        batch.status, batch.imported = PUBLISHED, report.imported  # every row visible at once
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
                "suppressed": suppressed,
            },
        )


def _discard(engine: Engine, batch_id: int | None) -> None:
    """Delete an unpublished batch's rows in short transactions, then mark it failed.

    Interrupted, the batch is left with rows and a status other than
    ``published``: invisible, and removed by the next import's
    :func:`_claim_campaign`.
    """
    staged = select(col(Contact.id)).where(col(Contact.batch_id) == batch_id, is_staged())  # never a published row
    while True:
        with engine.begin() as conn:
            ids = conn.execute(staged.limit(DISCARD_BATCH)).scalars().all()
            if ids:
                conn.execute(delete(Contact).where(col(Contact.id).in_(ids)))
        if len(ids) < DISCARD_BATCH:
            break
    with session_scope(engine) as session:
        batch = session.get(ImportBatch, batch_id)
        if batch is not None:
            batch.status = "failed"
            session.add(batch)
