"""Flush old page images of erased rows (SQLite WAL truncation, PostgreSQL ``VACUUM``)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from owner_server.core.db import is_sqlite

__all__ = ["scrub_storage"]


def scrub_storage(engine: Engine) -> bool:
    """Flush old page images of erased rows where the database allows it.

    Returns:
        True when done; False when a SQLite reader kept the WAL from being
        truncated (it is truncated at a later checkpoint).
    """
    if is_sqlite(engine):
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = cursor.fetchone()
            cursor.close()
        finally:
            raw.close()
        return busy is not None and busy[0] == 0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM contact")
    return True
