"""Imports started from the console: an uploaded file, then a run in a background thread with its progress.

A job is created when a file is uploaded (state ``uploaded``), kept in
:attr:`ConsoleState.jobs` under a random id, run once (``running``) by a
daemon thread calling :func:`owner_server.lists.importer.import_file`
exactly as ``custos-server import`` does, and ends ``done`` or ``failed``.
The uploaded file is deleted when the run ends, or by :func:`sweep_jobs`
when nobody ran it within :data:`~owner_server.console.uploads.ABANDONED_AFTER`.
Only the admin who uploaded a file sees its job. Jobs live in the process
that started them (one console process per installation).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from owner_server.console.state import ConsoleState
from owner_server.console.uploads import ABANDONED_AFTER, sweep
from owner_server.lists import importer
from owner_server.lists.import_report import ImportReport
from owner_server.lists.importing.pipeline import OpenedFile, estimate_records, open_file
from shared.errors import ConflictError, CustosError, NotFoundError

__all__ = ["FINISHED_KEPT", "ImportJob", "JobStatus", "find_job", "new_job", "start_job", "sweep_jobs"]

log = logging.getLogger(__name__)

#: Seconds a finished job's report stays viewable.
FINISHED_KEPT = 12 * 3600


class JobStatus(StrEnum):
    """Where an import job is."""

    UPLOADED = "uploaded"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(slots=True)
class ImportJob:
    """One uploaded file and its import.

    Attributes:
        id: Random id (URL-safe, 128 bits).
        user_id: The admin who uploaded it (only they see it).
        campaign: Target campaign's name.
        path: The private copy of the file (deleted once run or abandoned).
        region: Default phone region.
        created: When it was uploaded (``time.time()``).
        status: Where it is.
        overrides: Column (``#n``) → field, chosen on the preview page.
        dry_run: Whether the run writes nothing.
        accept_float_artefacts: Read a phone's exact ``.0`` tail as a spreadsheet artefact
            (``custos-server import --accept-float-artefacts``), chosen on the preview page.
        total: Estimated records (None for XLSX: unknown).
        done: Records handled so far.
        report: The report, once done.
        error: One sentence, once failed.
        finished: When it ended (``time.time()``).
        encoding: The file's encoding, once run (``xlsx`` for a workbook).
        delimiter: Its CSV delimiter, once run (None for a workbook).
        mapping: The mapping's description (header names and fields), once run.
        notice: A sentence for the preview page (a mapping that cannot work).
    """

    id: str
    user_id: int
    campaign: str
    path: Path
    region: str
    created: float = field(default_factory=time.time)
    status: JobStatus = JobStatus.UPLOADED
    overrides: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    accept_float_artefacts: bool = False
    total: int | None = None
    done: int = 0
    report: ImportReport | None = None
    error: str | None = None
    finished: float | None = None
    encoding: str = ""
    delimiter: str | None = None
    mapping: list[str] = field(default_factory=list)
    notice: str | None = None

    @property
    def percent(self) -> int | None:
        """Progress in whole percent (100 once ended; None while the total is unknown)."""
        if self.status in (JobStatus.DONE, JobStatus.FAILED):
            return 100
        if not self.total:
            return None
        return min(99, self.done * 100 // self.total)

    @property
    def finished_state(self) -> bool:
        """Whether the run has ended (done or failed)."""
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    def open(self, overrides: Mapping[str, str] | None = None) -> OpenedFile:
        """Open the file as the importer will (see :func:`open_file`).

        Raises:
            ImportFileError: The file or the mapping cannot be used.
        """
        return open_file(
            self.path,
            region=self.region,
            overrides=self.overrides if overrides is None else overrides,
            accept_float_artefacts=self.accept_float_artefacts,
        )


_lock = threading.Lock()


def new_job(state: ConsoleState, *, user_id: int, campaign: str, path: Path, region: str) -> ImportJob:
    """Register an uploaded file as a job and return it."""
    job = ImportJob(id=secrets.token_urlsafe(16), user_id=user_id, campaign=campaign, path=path, region=region)
    with _lock:
        state.jobs[job.id] = job
    return job


def find_job(state: ConsoleState, job_id: str, *, user_id: int) -> ImportJob:
    """The job ``job_id`` of this user.

    Raises:
        NotFoundError: No such job, or another user's (both look the same).
    """
    job = state.jobs.get(job_id)
    if not isinstance(job, ImportJob) or job.user_id != user_id:
        raise NotFoundError("This import is not known (it ended long ago or the server restarted); upload again.")
    return job


def start_job(state: ConsoleState, job: ImportJob, *, opened: OpenedFile, actor: str, dry_run: bool) -> None:
    """Run ``job`` in a background thread (once).

    Args:
        state: The console state (engine, keys).
        job: An uploaded job.
        opened: The file opened with the chosen mapping.
        actor: Who imports, for the audit log (``admin:<login>``).
        dry_run: Compute the report, write nothing.

    Raises:
        ConflictError: The job was run already.
    """
    with _lock:
        if job.status is not JobStatus.UPLOADED:
            raise ConflictError("This file was imported already; upload it again to run another import.")
        job.status, job.dry_run = JobStatus.RUNNING, dry_run
    job.total = estimate_records(job.path)
    job.encoding, job.delimiter = opened.source.encoding, opened.source.delimiter
    job.mapping = opened.mapping.describe()
    thread = threading.Thread(target=_run, args=(state, job, opened, actor), name="console-import", daemon=True)
    thread.start()


def _run(state: ConsoleState, job: ImportJob, opened: OpenedFile, actor: str) -> None:
    def on_progress(done: int) -> None:
        job.done = done

    try:
        job.report = importer.import_file(
            state.engine,
            keys=state.keys,
            campaign_name=job.campaign,
            opened=opened,
            actor=actor,
            dry_run=job.dry_run,
            on_progress=on_progress,
        )
        job.status = JobStatus.DONE
    except CustosError as exc:
        job.error, job.status = exc.message, JobStatus.FAILED
    except Exception as exc:  # a bug must not leave the page polling forever; the type only: no data in logs
        log.error("console import failed: %s", type(exc).__name__)
        job.error, job.status = "The import failed; nothing was imported.", JobStatus.FAILED
    finally:
        job.finished = time.time()
        job.path.unlink(missing_ok=True)


def sweep_jobs(state: ConsoleState, *, now: float | None = None) -> None:
    """Forget uploads nobody ran (deleting their files) and old finished jobs; delete orphaned files."""
    moment = time.time() if now is None else now
    with _lock:
        for job_id, job in list(state.jobs.items()):
            if not isinstance(job, ImportJob):
                continue
            if job.status is JobStatus.UPLOADED and moment - job.created > ABANDONED_AFTER:
                job.path.unlink(missing_ok=True)
                del state.jobs[job_id]
            elif job.finished is not None and moment - job.finished > FINISHED_KEPT:
                del state.jobs[job_id]
        live = [j.path for j in state.jobs.values() if isinstance(j, ImportJob)]
    sweep(state.settings.data_dir, keep=live, now=now)
