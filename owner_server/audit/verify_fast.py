"""Bulk verification of the audit chain: raw rows in batches, hashed with C-level ``map``.

The hash format is the one of :func:`owner_server.audit.log.entry_hash`; the canonical JSON is
built with :func:`json.encoder.encode_basestring` (what ``json.dumps(..., ensure_ascii=False)``
uses for every string), so the bytes hashed are the same; when one regex finds nothing it would
escape in the batch's other fields, those are only wrapped in quotes. A batch is accepted only when every
entry hashes to its stored hash, links to the one before and the sequence numbers are gap-free;
anything else (or a value that is not text, possible on SQLite) hands the batch to the exact
per-entry check, which names the first bad entry as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from hashlib import sha256
from itertools import chain
from json.encoder import encode_basestring as _quote
from operator import methodcaller
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["COLUMNS", "Batch", "check_batch", "read_batches"]

#: One entry as read: seq, ts, actor, action, object_type, object_id, details, prev_hash, hash.
Row = tuple[Any, ...]
Batch = Sequence[Row]

COLUMNS = "seq, ts, actor, action, object_type, object_id, details, prev_hash, hash"
_hex = methodcaller("hexdigest")
_FORMAT = '{}\n{{"action":{},"actor":{},"details":{},"object_id":{},"object_type":{},"seq":{},"ts":{}}}'.format
#: The same text when every field but ``details`` is plain (``encode_basestring`` only wraps it in quotes).
_PLAIN = '%s\n{"action":"%s","actor":"%s","details":%s,"object_id":"%s","object_type":"%s","seq":%d,"ts":"%s"}'.__mod__
#: What ``encode_basestring`` escapes: ``"``, ``\\`` and the control characters.
_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def read_batches(session: Session, *, after: int, batch: int) -> Iterator[Batch]:
    """Yield the entries after ``after`` in sequence order, ``batch`` raw tuples at a time.

    Reads through the session's own DBAPI connection (so in its transaction and snapshot) with
    keyset pages, so memory stays flat however long the log is.
    """
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None  # noqa: S101 - an open session always has one
    last = int(after)
    while True:
        cur = dbapi.cursor()
        try:
            cur.execute(f"SELECT {COLUMNS} FROM auditentry WHERE seq > {last} ORDER BY seq LIMIT {int(batch)}")  # noqa: S608 - ints only
            rows = cur.fetchall()
        finally:
            cur.close()
        if not rows:
            return
        yield rows
        last = int(rows[-1][0])


def check_batch(rows: Batch, *, prev_hash: str, first_seq: int) -> bool:
    """True when every entry of ``rows`` checks out, given the hash and seq expected first.

    Args:
        rows: Raw entries in sequence order (see :data:`Row`).
        prev_hash: Hash the first entry must link to (hex).
        first_seq: Sequence number the first entry must have.

    Returns:
        False when anything is off (the caller then runs the per-entry check for the reason).
    """
    try:
        seqs, ts, actor, action, otype, oid, details, prevs, hashes = zip(*rows, strict=True)
        if seqs != tuple(range(first_seq, first_seq + len(rows))):
            return False
        if prevs[0] != prev_hash or prevs[1:] != hashes[:-1]:
            return False
        if not _ESCAPED.search("".join(chain(ts, actor, action, otype, oid))):
            quoted = map(_quote, details)
            plain = map(_PLAIN, zip(prevs, action, actor, quoted, oid, otype, seqs, ts, strict=True))
            return tuple(map(_hex, map(sha256, map(str.encode, plain)))) == hashes
        texts = map(
            _FORMAT,
            prevs,
            map(_quote, action),
            map(_quote, actor),
            map(_quote, details),
            map(_quote, oid),
            map(_quote, otype),
            seqs,
            map(_quote, ts),
        )
        return tuple(map(_hex, map(sha256, map(str.encode, texts)))) == hashes
    except (TypeError, ValueError, UnicodeError):
        return False
