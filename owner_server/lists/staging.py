"""Staging an import's chunks: deduplicate against the database, then bulk insert.

One transaction per chunk, so an agent's request waits at most one chunk's
write. Duplicates are looked up by blind index among the campaign's contacts
(index ``(campaign_id, phone_bidx)``) in the transaction that stages the chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import insert, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select

from owner_server.lists.import_report import DuplicateRow, ImportReport
from owner_server.lists.import_workers import BIDX_AT, RECORD_AT, STAGED_COLUMNS, StagedRow, StageTarget
from owner_server.models import Contact, ContactState, ImportBatch
from owner_server.models._common import utcnow

__all__ = ["SQLITE_IMPORT_CACHE_KIB", "Stager"]

#: SQLite page cache of the importing connection, in KiB (the default is 2 MiB).
SQLITE_IMPORT_CACHE_KIB = 64 * 1024


class Stager:
    """Deduplicates each chunk against the database and stages what is new, one transaction per chunk.

    Holds one connection for the whole import. On SQLite it is taken out of
    the pool (closed, not returned, at the end) and given a page cache of
    :data:`SQLITE_IMPORT_CACHE_KIB`: every chunk probes and extends the random
    ``(campaign_id, phone_bidx)`` index, whose pages the default 2 MiB cache
    would keep re-reading.
    """

    def __init__(self, engine: Engine, *, target: StageTarget, report: ImportReport, dry_run: bool) -> None:
        self._target = target
        self._report = report
        self._dry_run = dry_run
        # A dry run stages nothing, so its earlier records are remembered here
        # (about 100 bytes per record): the only state that grows with the file.
        self._dry_seen: dict[bytes, int] = {}
        self._conn = engine.connect()
        self._dialect = engine.dialect.name
        if self._dialect == "sqlite":
            self._conn.detach()
            driver = self._conn.connection.dbapi_connection
            assert driver is not None
            driver.execute(f"PRAGMA cache_size=-{SQLITE_IMPORT_CACHE_KIB}")
        self._insert = _inserter(engine)

    def close(self) -> None:
        """Release the connection."""
        self._conn.close()

    def stage(self, rows: list[StagedRow]) -> None:
        """Stage the rows that are new to the campaign; report the others as duplicates.

        Args:
            rows: One prepared chunk's rows, in record order.
        """
        if not rows:
            return
        with self._conn.begin():
            known = self._known([row[BIDX_AT] for row in rows])
            fresh: list[StagedRow] = []
            for row in rows:
                bidx, record_no = row[BIDX_AT], row[RECORD_AT]
                if bidx in known:
                    self._report.duplicates.append(DuplicateRow(record_no, known[bidx]))
                    continue
                known[bidx] = record_no
                fresh.append(row)
            self._report.imported += len(fresh)
            if self._dry_run:
                self._dry_seen.update((row[BIDX_AT], row[RECORD_AT]) for row in fresh)
            else:
                self._insert(self._conn, fresh)
                self._conn.execute(
                    update(ImportBatch)
                    .where(col(ImportBatch.id) == self._target.batch_id)
                    .values(heartbeat_at=utcnow())
                )

    def _known(self, bidxs: list[bytes]) -> dict[bytes, int | None]:
        """Which of these indexes the campaign has: bidx → earlier record of this file, or None."""
        t = self._target
        known: dict[bytes, int | None] = {}
        for bidx, batch_id, record_no, _state in _lookup(self._conn, self._dialect, t.campaign_id, bidxs):
            # the campaign's one running import is this one, and rows a dead import left were removed
            # before it started (importer._claim_campaign), so every other row is a contact
            known[bidx] = record_no if batch_id is not None and batch_id == t.batch_id else None
        if self._dry_seen:
            for bidx in bidxs:
                if bidx not in known and bidx in self._dry_seen:
                    known[bidx] = self._dry_seen[bidx]
        return known


_LOOKUP = (
    "SELECT phone_bidx, batch_id, source_record, state FROM contact "  # noqa: S608 - constants only
    "WHERE campaign_id = {p} AND phone_bidx {among} AND state != {p}"
)


def _lookup(
    conn: Connection, dialect: str, campaign_id: int, bidxs: list[bytes]
) -> Iterable[tuple[bytes, int | None, int, str]]:
    """Live contacts of a campaign with one of these blind indexes (index ``ix_contact_campaign_bidx``).

    Returns:
        ``(phone_bidx, batch_id, source_record, state name)`` rows.
    """
    erased = ContactState.ERASED.name
    if dialect == "sqlite":
        sql = _LOOKUP.format(p="?", among=f"IN ({', '.join('?' * len(bidxs))})")
        result = conn.exec_driver_sql(sql, (campaign_id, *bidxs, erased))
    elif dialect == "postgresql":
        # %b: the indexes go as one binary bytea array (as text, psycopg would hex-escape
        # 5,000 of them and the server parse them back: ~3 µs a row on the importing side)
        result = conn.exec_driver_sql(_LOOKUP.format(p="%s", among="= ANY(%b)"), (campaign_id, bidxs, erased))
    else:
        stmt = select(Contact.phone_bidx, Contact.batch_id, Contact.source_record, Contact.state).where(
            col(Contact.campaign_id) == campaign_id,
            col(Contact.phone_bidx).in_(bidxs),
            col(Contact.state) != ContactState.ERASED,
        )
        return [(b, batch, rec, state.name) for b, batch, rec, state in conn.execute(stmt)]
    return [(bytes(b), batch, rec, state) for b, batch, rec, state in result]


_Insert = Callable[[Connection, list[StagedRow]], None]


def _inserter(engine: Engine) -> _Insert:
    """The fastest bulk insert the database offers, inside the caller's transaction."""
    table = Contact.__tablename__
    columns = ", ".join(STAGED_COLUMNS)
    if engine.dialect.name == "sqlite":
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(STAGED_COLUMNS))})"  # noqa: S608 - constants

        def sqlite_insert(conn: Connection, rows: list[StagedRow]) -> None:
            if rows:
                conn.exec_driver_sql(sql, rows)  # executemany of tuples

        return sqlite_insert
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        copy_sql = f"COPY {table} ({columns}) FROM STDIN"

        def copy_insert(conn: Connection, rows: list[StagedRow]) -> None:
            if rows:
                driver = conn.connection.driver_connection
                assert driver is not None
                with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)

        return copy_insert

    def core_insert(conn: Connection, rows: list[StagedRow]) -> None:
        if rows:
            conn.execute(insert(Contact), [dict(zip(STAGED_COLUMNS, row, strict=True)) for row in rows])

    return core_insert
