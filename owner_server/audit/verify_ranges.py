"""The full pass over the audit chain in several processes, each checking one range of it.

The log ``1..head`` is cut into ranges ``(after, upto]``. A worker process reads its range on a
connection of its own, in the snapshot of the calling session (PostgreSQL: the caller's
``REPEATABLE READ`` snapshot exported with ``pg_export_snapshot()`` and imported by every worker
with ``SET TRANSACTION SNAPSHOT``; SQLite: a read transaction per worker, bounded by the head the
caller read, since entries up to it are never rewritten by the application), and checks it with
:func:`owner_server.audit.verify_fast.check_batch`, starting from the ``prev_hash`` stored in the
range's first entry. The caller then joins the ranges in order: each range's first ``prev_hash``
must be the hash the range before ended on (the genesis hash for the first).

The result is the serial one (:func:`owner_server.audit.log.verify_chain`): ranges that pass and
join are exactly what the serial walk accepts, and from the first range that does not, the serial
walk itself runs on (in the caller's session, from the state the ranges before left), so the
first bad entry, its message and the counts are the serial ones.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func
from sqlmodel import Session, col, select

from owner_server.audit.log import GENESIS_HASH, Anchor, VerifyResult, Walked, _walk, finish_chain
from owner_server.audit.verify_fast import COLUMNS, check_batch
from owner_server.models import AuditEntry, AuditHead, Checkpoint

__all__ = ["MIN_PARALLEL", "RangeResult", "check_range", "default_processes", "plan_ranges", "verify_full"]

#: Below this many entries one process is quicker than starting others.
MIN_PARALLEL = 200_000
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f-]+$")


@dataclass(frozen=True, slots=True)
class RangeResult:
    """What a worker found in the range ``(after, upto]``.

    Attributes:
        after: The range starts after this seq.
        upto: Its last seq.
        ok: Every entry ``after + 1 .. upto`` present, hashing right and linking to the one before
            (the first to ``first_prev``).
        first_prev: The ``prev_hash`` stored in entry ``after + 1`` (empty when not ok).
        last_hash: The hash of entry ``upto`` (empty when not ok).
        hashes_at: The hashes of the wanted entries in the range.
    """

    after: int
    upto: int
    ok: bool
    first_prev: str = ""
    last_hash: str = ""
    hashes_at: dict[int, str] = field(default_factory=dict)


def default_processes() -> int:
    """The worker processes a full pass uses by default: one per CPU this process may run on, at most 8."""
    return max(1, min(8, len(os.sched_getaffinity(0))))


def plan_ranges(head: int, parts: int) -> list[tuple[int, int]]:
    """Cut ``1..head`` into ``parts`` ranges ``(after, upto]`` of near-equal size, in order."""
    parts = max(1, min(parts, head))
    bounds = [head * i // parts for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(parts) if bounds[i + 1] > bounds[i]]


def _rows(source: tuple[str, str, str], after: int, upto: int, batch: int) -> Iterator[Sequence[Any]]:
    """The range's raw rows in seq order, ``batch`` at a time, in the caller's snapshot.

    ``source`` is ``(dialect, target, snapshot)``: the SQLite file path, or the libpq conninfo
    and the exported snapshot id.
    """
    dialect, target, snapshot = source
    where = f"WHERE seq > {int(after)} AND seq <= {int(upto)} ORDER BY seq"
    if dialect == "sqlite":
        conn = sqlite3.connect(target, isolation_level=None)
        try:
            conn.execute("BEGIN")
            cur = conn.execute(f"SELECT {COLUMNS} FROM auditentry {where}")  # noqa: S608 - ints only
            while rows := cur.fetchmany(batch):
                yield rows
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(target, autocommit=True) as pg:
        pg.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if snapshot:
            pg.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # checked against _SNAPSHOT_ID
        with pg.cursor(name="custos_audit_range") as server:
            server.itersize = batch
            server.execute(f"SELECT {COLUMNS} FROM auditentry {where}")  # noqa: S608 - ints only
            while rows := server.fetchmany(batch):
                yield rows
        pg.execute("COMMIT")


def check_range(
    source: tuple[str, str, str], after: int, upto: int, wanted: frozenset[int], batch: int = 20000
) -> RangeResult:
    """Check the entries ``(after, upto]`` on a connection of this process (run in a worker).

    Args:
        source: ``(dialect, target, snapshot)`` as in :func:`verify_full`.
        after: The range starts after this seq.
        upto: Its last seq.
        wanted: Seqs whose hashes the caller needs (checkpoints, anchors).
        batch: Entries read and checked at a time.

    Returns:
        The range's result; not ok at the first thing :func:`check_batch` refuses, or when the
        range cannot be read here (the caller then reads it with the serial walk, which names
        the reason or raises the database's error).
    """
    try:
        return _check_range(source, after, upto, wanted, batch)
    except (sqlite3.Error, OSError, _pg_error()):
        return RangeResult(after, upto, False)  # the caller's serial walk reads the range instead


def _pg_error() -> type[Exception]:
    if "psycopg" not in sys.modules:
        return sqlite3.Error
    import psycopg

    return psycopg.Error


def _check_range(
    source: tuple[str, str, str], after: int, upto: int, wanted: frozenset[int], batch: int
) -> RangeResult:
    expected, prev_hash, first_prev = after + 1, "", ""
    hashes_at: dict[int, str] = {}
    for rows in _rows(source, after, upto, batch):
        if not first_prev:
            first_prev = rows[0][7] if isinstance(rows[0][7], str) else ""
            prev_hash = first_prev
        if not first_prev or not check_batch(rows, prev_hash=prev_hash, first_seq=expected):
            return RangeResult(after, upto, False)
        for seq in wanted:
            if expected <= seq < expected + len(rows):
                hashes_at[seq] = rows[seq - expected][8]
        prev_hash, expected = rows[-1][8], expected + len(rows)
    if expected != upto + 1:
        return RangeResult(after, upto, False)
    return RangeResult(after, upto, True, first_prev, prev_hash, hashes_at)


def _source(session: Session) -> tuple[str, str, str]:
    """Where the workers read, in this session's snapshot (exported on PostgreSQL)."""
    bind = session.get_bind()
    url = bind.engine.url
    if url.get_backend_name() == "sqlite":
        return ("sqlite", str(url.database), "")
    snapshot = str(session.connection().exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
    if not _SNAPSHOT_ID.match(snapshot):
        raise ValueError("unexpected snapshot id")
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return ("postgresql", conninfo, snapshot)


def pool_context() -> Any:
    """How the workers start: ``fork`` when this process runs one thread, else ``forkserver``.

    A forked child gets a copy of every lock as it was at the fork. If another thread held one
    then (SQLite's global mutex while that thread ran a statement, a logging lock), the child
    waits for it forever: the pass hung in a worker's ``sqlite3.connect`` while a request
    thread appended to the log. The CLI's ``audit verify`` runs one thread and forks (fast
    start); anything with other threads (the server, tests) starts its workers from a
    clean fork server instead (Python documentation, ``multiprocessing``: "Contexts and
    start methods"; POSIX ``fork()``: only the calling thread is replicated).
    """
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver")


def _walk_ranges(session: Session, wanted: frozenset[int], head: int, *, processes: int, batch: int) -> Walked:
    """The serial walk's result, from ranges checked by ``processes`` worker processes."""
    source = _source(session)
    ranges = plan_ranges(head, processes * 2)
    with pool_context().Pool(processes) as pool:
        results = pool.starmap(check_range, [(source, a, b, wanted, batch) for a, b in ranges], chunksize=1)
    prev_hash, count = GENESIS_HASH, 0
    hashes_at: dict[int, str] = {}
    for r in results:
        if not (r.ok and r.first_prev == prev_hash):
            walked = _walk(session, set(wanted), batch, after=r.after, prev_hash=prev_hash)
            failed, more, prev_hash, last, found = walked
            if failed is not None:
                return replace(failed, entries=failed.entries + count), count + more, prev_hash, last, hashes_at
            return None, count + more, prev_hash, last, hashes_at | found
        prev_hash, count = r.last_hash, count + (r.upto - r.after)
        hashes_at |= r.hashes_at
    return None, count, prev_hash, head, hashes_at


def verify_full(
    session: Session,
    *,
    public_key: Ed25519PublicKey | None,
    anchors: Sequence[Anchor] = (),
    batch: int = 20000,
    processes: int | None = None,
    min_parallel: int = MIN_PARALLEL,
) -> VerifyResult:
    """The full pass of :func:`owner_server.audit.log.verify_chain`, in several processes.

    Args:
        session: A read session whose transaction has not read yet, on PostgreSQL ``REPEATABLE
            READ`` (its snapshot is the one verified, whatever is appended meanwhile).
        public_key: The audit signing key's public half; None skips signatures.
        anchors: Checkpoints recorded outside the database.
        batch: Entries read per query.
        processes: Worker processes; default :func:`default_processes`. 1 reads serially.
        min_parallel: Logs shorter than this are read serially.

    Returns:
        The same result as :func:`owner_server.audit.log.verify_chain` on the same snapshot.
    """
    checkpoints = sorted(session.exec(select(Checkpoint)).all(), key=lambda cp: cp.seq)
    wanted = frozenset({cp.seq for cp in checkpoints} | {a.seq for a in anchors})
    head_row = session.get(AuditHead, 1)
    head = head_row.seq if head_row else 0
    last = session.exec(select(func.max(col(AuditEntry.seq)))).one() or 0
    workers = default_processes() if processes is None else processes
    if workers > 1 and head >= min_parallel and last == head:
        walked = _walk_ranges(session, wanted, head, processes=workers, batch=batch)
    else:  # short, one process asked, or entries beyond the head (the serial walk says what)
        walked = _walk(session, set(wanted), batch)
    return finish_chain(session, walked, checkpoints, public_key=public_key, anchors=anchors)
