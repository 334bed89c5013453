"""Audit checkpoints anchored outside the database.

Each signed checkpoint is also appended to ``<data dir>/audit/anchors.jsonl``
(mode 0600, append-only, fsynced). Someone who can write the database but not
the server's data dir cannot then rewrite the log and its checkpoints from
scratch: ``audit verify`` checks every anchor against the database. Copy the
file off the machine (or ship it to syslog) to also cover a data-dir attacker.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from owner_server.audit.log import Anchor
from owner_server.models import Checkpoint
from shared.errors import ValidationError

__all__ = ["ANCHOR_FILE", "append_anchor", "read_anchors"]

ANCHOR_FILE = Path("audit") / "anchors.jsonl"


def append_anchor(data_dir: Path, checkpoint: Checkpoint) -> None:
    """Append one checkpoint to the anchor file (created 0600 on first use)."""
    path = data_dir / ANCHOR_FILE
    path.parent.mkdir(mode=0o700, exist_ok=True)
    line = json.dumps(
        {
            "seq": checkpoint.seq,
            "head_hash": checkpoint.head_hash,
            "ts": checkpoint.ts,
            "signature": base64.b64encode(checkpoint.signature).decode(),
        },
        separators=(",", ":"),
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_anchors(data_dir: Path) -> list[Anchor]:
    """Read every anchor; an absent file means none.

    Raises:
        ValidationError: A line is not a valid anchor (the file was damaged).
    """
    path = data_dir / ANCHOR_FILE
    if not path.exists():
        return []
    anchors: list[Anchor] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            raw = json.loads(line)
            anchors.append(Anchor(seq=int(raw["seq"]), head_hash=str(raw["head_hash"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(f"audit anchor file line {number} is damaged") from exc
    return anchors
