"""The CPU side of an import: normalise, encrypt and index records, in worker processes.

An import spends nearly all its CPU time here (phone parsing, AES-GCM per field,
HMAC per phone), so a large file is cut into chunks of records that worker
processes prepare while the importing process writes the previous chunks to the
database (:mod:`owner_server.lists.importer`). Chunks come back in file
order, so "the first record" of a duplicate is the same whatever the number of
workers; at most ``2 * workers`` chunks are in flight, so memory stays flat
however long the file is.

Workers are started with ``spawn``: they inherit nothing from the server
process (no database connections, no key-encryption key, no other campaign's
keys). The campaign's data key and the blind-index key reach them only as
pickled constructor arguments through the pool's pipe, live in their memory
for the import and die with them; nothing is written to disk or logged.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import struct
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from multiprocessing.connection import wait
from typing import Final

from owner_server.lists.importing.mapping import ColumnMapping
from owner_server.lists.importing.normalise import NormalisedRow, RejectedRow, normalise_records
from owner_server.lists.importing.phones import REPAIRS
from owner_server.lists.importing.reading import Record
from owner_server.vault.aead import FieldCipher
from owner_server.vault.blind_index import BlindIndexer
from shared.fields import PHONE_FIELDS

__all__ = [
    "BIDX_AT",
    "RECORD_AT",
    "STAGED_COLUMNS",
    "ChunkPreparer",
    "PreparedChunk",
    "StageTarget",
    "StagedRow",
    "contact_values",
    "default_workers",
    "new_pick_keys",
    "new_ref",
    "new_refs",
    "prepare_in_parallel",
]

#: Columns of :class:`owner_server.models.Contact` a staged row fills, in :data:`StagedRow` order.
STAGED_COLUMNS = (
    "ref",
    "campaign_id",
    "batch_id",
    "data_key_id",
    "payload",
    "phone_bidx",
    "state",
    "attempts",
    "source_record",
    "pick_key",
    "pick_batch",
)
#: One contact ready to insert: values of :data:`STAGED_COLUMNS`.
StagedRow = tuple[str, int, "int | None", int, bytes, bytes, str, int, int, int, int]
#: A phone slot in words for the report's reasons (which never hold a digit: see :mod:`.importing.phones`).
_SLOT_WORDS = dict(
    zip(PHONE_FIELDS[1:], ("second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"), strict=True)
)
#: Pick keys are uniform on ``[0, PICK_KEY_BOUND)``, the range of :func:`owner_server.models.contacts.new_pick_key`.
PICK_KEY_BOUND: Final = 2**31 - 1
BIDX_AT: Final = 5  # STAGED_COLUMNS.index("phone_bidx"), as a literal so type checkers follow it
RECORD_AT: Final = 8  # STAGED_COLUMNS.index("source_record")


def contact_values(row: NormalisedRow) -> dict[str, str]:
    """The personal values stored for a row: its fields plus the phones."""
    values = dict(row.fields)
    values["phone"] = row.phone.e164
    if row.phone.extension:
        values["phone_ext"] = row.phone.extension
    for slot, phone in row.extra_phones:
        values[slot] = phone.e164
    return values


@dataclass(frozen=True, slots=True)
class StageTarget:
    """Where prepared rows go.

    Attributes:
        campaign_id: The campaign's id.
        batch_id: The import batch's id (None in a dry run).
        data_key_id: The id of the data key the payloads are encrypted under.
        state: The stored form of the rows' state (``ContactState.NEW``'s name): staged
            contacts are told by their unpublished batch (:mod:`owner_server.lists.visibility`).
    """

    campaign_id: int
    batch_id: int | None
    data_key_id: int
    state: str


@dataclass(frozen=True, slots=True)
class PreparedChunk:
    """One chunk of records, prepared; holds personal data only encrypted or indexed.

    Attributes:
        rows: Contacts ready to stage, in record order (duplicates not yet removed).
        rejected: Records not imported, with reasons.
        warnings: Imported records with a further phone dropped or a number repaired.
        handled: Records in the chunk (rows + rejected).
    """

    rows: list[StagedRow]
    rejected: list[RejectedRow]
    warnings: list[RejectedRow]
    handled: int


class ChunkPreparer:
    """Turns normalised rows into :data:`StagedRow` tuples.

    Args:
        cipher: The campaign's field cipher, or None to leave payloads empty
            (a dry run stores nothing, so encrypting would be wasted work).
        indexer: The installation's blind indexer.
        target: Campaign, batch and data key of the rows.
    """

    __slots__ = ("_cipher", "_indexer", "_target")

    def __init__(self, *, cipher: FieldCipher | None, indexer: BlindIndexer, target: StageTarget) -> None:
        self._cipher = cipher
        self._indexer = indexer
        self._target = target

    def __repr__(self) -> str:
        """Name the target, never the keys."""
        return f"ChunkPreparer(target={self._target!r})"

    def prepare(self, rows: Iterable[NormalisedRow | RejectedRow]) -> PreparedChunk:
        """Encrypt and index a chunk of rows.

        Args:
            rows: Normalised or rejected rows, in record order.

        Returns:
            The chunk; each new contact gets a fresh random ref.
        """
        t, cipher, phone_index = self._target, self._cipher, self._indexer.phone
        kept: list[NormalisedRow] = []
        rejected: list[RejectedRow] = []
        warnings: list[RejectedRow] = []
        for row in rows:
            if isinstance(row, RejectedRow):
                rejected.append(row)
                continue
            for slot, dropped in row.phones_rejected:
                reason = f"{_SLOT_WORDS[slot]} phone dropped: {dropped.reason}"
                warnings.append(RejectedRow(row.record_no, dropped.reason_code, reason))
            for slot, phone in (("phone", row.phone), *row.extra_phones):
                if phone.repair is not None:
                    reason = (
                        REPAIRS[phone.repair] if slot == "phone" else f"{_SLOT_WORDS[slot]} {REPAIRS[phone.repair]}"
                    )
                    warnings.append(RejectedRow(row.record_no, f"repaired_{phone.repair}", reason))
            kept.append(row)
        refs = new_refs(len(kept))
        if cipher is None:
            payloads = [b""] * len(kept)
        else:
            payloads = cipher.encrypt_many([(ref, contact_values(row)) for ref, row in zip(refs, kept, strict=True)])
        cid, bid, kid, state, order = t.campaign_id, t.batch_id, t.data_key_id, t.state, t.batch_id or 0
        out: list[StagedRow] = [
            (ref, cid, bid, kid, payload, phone_index(row.phone.e164), state, 0, row.record_no, pick, order)
            for ref, payload, row, pick in zip(refs, payloads, kept, new_pick_keys(len(kept)), strict=True)
        ]
        return PreparedChunk(out, rejected, warnings, len(out) + len(rejected))


def new_ref() -> str:
    """A new contact ref: 32 hex digits, time-ordered, 80 random bits.

    The layout of a UUIDv7 (RFC 9562 section 5.7) without its version bits:
    48 bits of Unix time in milliseconds, then 80 bits from the OS CSPRNG. Refs
    made one after another sort one after another, so a large import appends
    to the unique index on ``contact.ref`` instead of writing all over it
    (twice as fast on SQLite at a million rows). A ref tells when its contact
    was imported, to the millisecond, which the import batch records anyway.

    Returns:
        The ref, e.g. ``"0192f3a4b5c6d7e8f90123456789abcd"``.
    """
    return (time.time_ns() // 1_000_000).to_bytes(6, "big").hex() + os.urandom(10).hex()


def new_refs(count: int) -> list[str]:
    """``count`` refs made as :func:`new_ref` makes them, their random bits drawn in one CSPRNG read."""
    random = os.urandom(10 * count).hex()
    time_ns = time.time_ns
    return [(time_ns() // 1_000_000).to_bytes(6, "big").hex() + random[i : i + 20] for i in range(0, 20 * count, 20)]


def new_pick_keys(count: int) -> list[int]:
    """``count`` pick keys drawn as :func:`owner_server.models.contacts.new_pick_key` draws one.

    ``secrets.randbelow(2**31 - 1)`` takes 31 random bits and draws again when
    they make ``2**31 - 1``; so does this, with the bits of all the keys read
    from the OS CSPRNG at once (one system call instead of one per key).
    Each key is uniform on ``[0, PICK_KEY_BOUND)``. Defined here so the worker
    processes need not import the ORM models (a second of CPU each at start).

    Args:
        count: How many keys.

    Returns:
        The keys.
    """
    mask = (1 << PICK_KEY_BOUND.bit_length()) - 1
    keys = [word & mask for word in struct.unpack(f">{count}I", os.urandom(4 * count))]
    while PICK_KEY_BOUND in keys:  # the one 31-bit value out of range (1 in 2**31): draw it again
        keys[keys.index(PICK_KEY_BOUND)] = int.from_bytes(os.urandom(4), "big") & mask
    return keys


def default_workers() -> int:
    """Worker processes to use: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --- inside a worker process -------------------------------------------------------------

_worker: tuple[ChunkPreparer, ColumnMapping, str, bool] | None = None


def _init_worker(preparer: ChunkPreparer, mapping: ColumnMapping, region: str, floats: bool) -> None:
    global _worker  # noqa: PLW0603 - the pool's per-process state, set once by its initializer
    _worker = (preparer, mapping, region, floats)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the importing process's to answer, in one line
    _die_with_parent()


def _die_with_parent() -> None:
    """End this worker as soon as the importing process is gone (``kill -9`` included).

    A daemon thread waits on the parent's sentinel (a handle that becomes ready
    when the parent exits, on every platform multiprocessing supports) and then
    ends the process at once: it holds keys and clear rows, and nobody is left
    to take its results.
    """
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - always set in a pool worker
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="custos-parent-watch", daemon=True).start()


def _prepare_records(records: list[Record]) -> PreparedChunk:
    assert _worker is not None, "worker used before its initializer ran"
    preparer, mapping, region, floats = _worker
    return preparer.prepare(normalise_records(records, mapping, region=region, accept_float_artefacts=floats))


# --- in the importing process ------------------------------------------------------------


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Spawn workers that do not re-import the program's main module.

    A ``spawn`` child re-runs the parent's ``__main__`` module (as
    ``__mp_main__``) so that anything defined there can be unpickled. Workers
    run only code from this package, yet re-running the CLI's main module (the
    whole ``custos-server`` command tree) cost each worker about a second of
    CPU and some 60 MB at start. multiprocessing takes the main module's name
    or path from ``sys.modules["__main__"]`` when it starts a process, so a
    bare stand-in is put there for that moment and the real module put back.
    The CLI is single-threaded while it spawns; nothing else looks meanwhile.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")  # no __spec__ name, no __file__
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main
        else:  # pragma: no cover - a Python process always has a __main__
            del sys.modules["__main__"]


def prepare_in_parallel(
    records: Iterable[Record],
    *,
    preparer: ChunkPreparer,
    mapping: ColumnMapping,
    region: str,
    workers: int,
    chunk_records: int,
    accept_float_artefacts: bool = False,
) -> Generator[PreparedChunk, None, None]:
    """Prepare raw records in worker processes, yielding chunks in file order.

    Reading stays in this process (record numbers and blank counts are the
    source's); normalising, encrypting and indexing run in ``workers``
    processes. Submission keeps ``2 * workers`` chunks ahead of the consumer
    and no more, so memory is bounded by chunk size, not file size.

    Args:
        records: ``(record_no, cells)`` pairs, e.g. a RecordSource.
        preparer: The preparer each worker uses (pickled to them once, keys included).
        mapping: The column mapping.
        region: Default phone region.
        workers: Worker processes (at least 1).
        chunk_records: Records per chunk.
        accept_float_artefacts: See :func:`.importing.phones.normalise_phone`.

    Yields:
        One PreparedChunk per ``chunk_records`` records, in order.

    Raises:
        ImportFileError: Reading failed (raised here, in this process).
        Exception: Whatever a worker raised, re-raised here; the pool is then
            shut down and pending chunks cancelled.
    """
    context = multiprocessing.get_context("spawn")
    source = iter(records)
    pending: deque[Future[PreparedChunk]] = deque()
    initargs = (preparer, mapping, region, accept_float_artefacts)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=initargs
    ) as pool:
        try:
            while True:
                while len(pending) < 2 * workers and (chunk := list(islice(source, chunk_records))):
                    with _main_module_hidden():  # submit() is where the pool spawns its workers
                        pending.append(pool.submit(_prepare_records, chunk))
                if not pending:
                    return
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
