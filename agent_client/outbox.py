"""The durable outbox: outcomes and display events written to disk before they are sent; no Qt, no network.

Everything the agent did is written here first, in one SQLite transaction
that is on disk when the call returns (WAL, ``synchronous=FULL``), numbered
with the login session's sequence (one counter for events and outcomes), and
deleted only once the server acknowledged it. A crash, a kill or a server
that is down loses nothing: the next login uploads what is left, oldest first.

The file holds only ids, codes, times, sequence numbers and the agent's notes
encrypted with AES-256-GCM (the item id as associated data) under a key kept
in the OS keyring (:class:`OutboxKey`), never a value of a record.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import keyring.backend
import keyring.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agent_client.credentials import SERVICE_NAME, check_backend
from agent_client.errors import CredentialStoreUnavailable
from agent_client.outcome import OutcomeDraft
from shared.protocol import (
    BlockedAction,
    DisplayEvent,
    DisplayEventKind,
    DispositionRequest,
    NoCallReason,
    b64decode_strict,
    b64encode,
)
from shared.strategy import CallbackFor

__all__ = ["Outbox", "OutboxKey", "PendingOutcome", "outbox_path"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS item (
    local_seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('event', 'outcome')),
    item_id TEXT NOT NULL UNIQUE,
    agent_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    session_seq INTEGER NOT NULL,
    lease_id TEXT NOT NULL,
    code TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    duration_ms INTEGER,
    detail TEXT,
    notes BLOB,
    callback_at TEXT,
    callback_for TEXT,
    call_id TEXT,
    no_call_reason TEXT,
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS session_seq (session_id TEXT PRIMARY KEY, next_seq INTEGER NOT NULL);
"""
_COLUMNS = (
    "kind, item_id, agent_id, session_id, session_seq, lease_id, code, occurred_at, duration_ms, detail, "
    "notes, callback_at, callback_for, call_id, no_call_reason, sent"
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def outbox_path(directory: Path, server_url: str) -> Path:
    """The outbox file of one server inside the client's per-user directory."""
    return directory / f"outbox-{hashlib.sha256(server_url.encode()).hexdigest()[:16]}.sqlite3"


class OutboxKey:
    """The outbox's AES-256 key, in the OS keyring beside the device identity; made on first use.

    Args:
        server_url: The deployment's server URL; names the secret.
        backend: The keyring backend (the one the device identity uses).

    Raises:
        CredentialStoreUnavailable: The backend is not a secure store.
    """

    def __init__(self, server_url: str, backend: keyring.backend.KeyringBackend) -> None:
        check_backend(backend)
        self._backend = backend
        self._username = f"outbox-key@{server_url}"

    def load_or_create(self) -> bytes:
        """The 32-byte key, created and stored if there is none yet.

        Raises:
            CredentialStoreUnavailable: The keyring failed or the stored key is damaged.
        """
        try:
            text = self._backend.get_password(SERVICE_NAME, self._username)
            if text is None:
                key = AESGCM.generate_key(bit_length=256)
                self._backend.set_password(SERVICE_NAME, self._username, b64encode(key))
                return key
        except keyring.errors.KeyringError as exc:
            raise CredentialStoreUnavailable(f"the keyring refused the outbox key: {type(exc).__name__}") from exc
        try:
            return b64decode_strict(text, expected_len=32)
        except Exception as exc:  # noqa: BLE001 - any malformation means the same
            raise CredentialStoreUnavailable("the stored outbox key is damaged") from exc


@dataclass(frozen=True, slots=True)
class PendingOutcome:
    """An outcome waiting in the outbox.

    Attributes:
        request: What goes to the server (``outcome_id``, ``session_seq``, ``occurred_at`` set).
        sent_before: Whether an upload of it was started before (its answer may have been lost).
    """

    request: DispositionRequest
    sent_before: bool


class Outbox:
    """Outcomes and display events waiting for the server, on disk.

    Used from one thread (the GUI thread); every write is committed before it returns.

    Args:
        path: The SQLite file, or ``":memory:"`` (nothing survives the process: only
            for a client without a profile directory).
        key: The 32-byte AES-GCM key of the notes (:meth:`OutboxKey.load_or_create`).
        clock: The current aware time (injected for tests).
    """

    def __init__(self, path: Path | str, *, key: bytes, clock: Callable[[], datetime] = _utcnow) -> None:
        if str(path) != ":memory:":
            directory = Path(path).parent
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._aead = AESGCM(key)
        self._clock = clock
        self._agent_id = ""
        self._session_id = ""

    @classmethod
    def in_memory(cls) -> Outbox:
        """An outbox that lives only as long as the process (no profile directory)."""
        return cls(":memory:", key=AESGCM.generate_key(bit_length=256))

    def close(self) -> None:
        """Close the file (everything is already on disk)."""
        self._db.close()

    def begin_session(self, *, agent_id: str, session_id: str) -> None:
        """Number what comes next in a new login session of an agent (from 0)."""
        self._agent_id, self._session_id = agent_id, session_id
        self._db.execute("INSERT OR IGNORE INTO session_seq VALUES (?, 0)", (session_id,))

    @property
    def session_id(self) -> str:
        """The session items are numbered in now ("" before a login)."""
        return self._session_id

    def _insert(self, values: dict[str, object]) -> int:
        if not self._session_id:
            raise RuntimeError("no login session to number items in")
        cur = self._db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            (seq,) = cur.execute(
                "SELECT next_seq FROM session_seq WHERE session_id = ?", (self._session_id,)
            ).fetchone()
            row = {
                "agent_id": self._agent_id,
                "session_id": self._session_id,
                "session_seq": seq,
                "sent": 0,
                **values,
            }
            names = ", ".join(row)
            cur.execute(f"INSERT INTO item ({names}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))  # noqa: S608 - fixed names
            cur.execute("UPDATE session_seq SET next_seq = ? WHERE session_id = ?", (seq + 1, self._session_id))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return int(seq)

    def add_event(
        self,
        kind: DisplayEventKind,
        lease_id: str,
        *,
        duration_ms: int | None = None,
        detail: BlockedAction | None = None,
    ) -> DisplayEvent:
        """Number and store a display event.

        Raises:
            pydantic.ValidationError: The event breaks the protocol (nothing is stored).
            RuntimeError: No login session yet.
        """
        at = self._clock()
        draft = DisplayEvent(
            event_id=uuid.uuid4().hex,
            kind=kind,
            lease_id=lease_id,
            occurred_at=at,
            session_seq=0,
            duration_ms=duration_ms,
            detail=detail,
        )
        seq = self._insert(
            {
                "kind": "event",
                "item_id": draft.event_id,
                "lease_id": lease_id,
                "code": kind.value,
                "occurred_at": at.isoformat(),
                "duration_ms": duration_ms,
                "detail": detail.value if detail else None,
            }
        )
        return draft.model_copy(update={"session_seq": seq})

    def add_outcome(self, draft: OutcomeDraft) -> DispositionRequest:
        """Number and store an outcome the agent pressed, its note encrypted.

        Raises:
            pydantic.ValidationError: The outcome breaks the protocol (e.g. the note is too long;
                nothing is stored).
            RuntimeError: No login session yet.
        """
        outcome_id = uuid.uuid4().hex
        at = self._clock()
        request = DispositionRequest(
            lease_id=draft.lease_id,
            code=draft.code,
            outcome_id=outcome_id,
            session_seq=0,
            occurred_at=at,
            notes=draft.notes or None,
            callback_at=draft.callback_at,
            callback_for=draft.callback_for,
            call_id=draft.call_id,
            no_call_reason=draft.no_call_reason,
        )
        nonce = secrets.token_bytes(12)
        notes = nonce + self._aead.encrypt(nonce, draft.notes.encode(), outcome_id.encode()) if draft.notes else None
        seq = self._insert(
            {
                "kind": "outcome",
                "item_id": outcome_id,
                "lease_id": draft.lease_id,
                "code": draft.code,
                "occurred_at": at.isoformat(),
                "notes": notes,
                "callback_at": request.callback_at.isoformat() if request.callback_at else None,
                "callback_for": draft.callback_for.value if draft.callback_for else None,
                "call_id": draft.call_id,
                "no_call_reason": draft.no_call_reason.value if draft.no_call_reason else None,
            }
        )
        return request.model_copy(update={"session_seq": seq})

    def counts(self) -> tuple[int, int]:
        """How many outcomes and events of the current agent wait for the server."""
        rows = dict(
            self._db.execute(
                "SELECT kind, count(*) FROM item WHERE agent_id = ? GROUP BY kind", (self._agent_id,)
            ).fetchall()
        )
        return int(rows.get("outcome", 0)), int(rows.get("event", 0))

    def next_upload(self, *, batch: int) -> PendingOutcome | tuple[DisplayEvent, ...] | None:
        """What to send next, oldest first: an outcome, or the events before the next outcome (at most ``batch``)."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM item WHERE agent_id = ? ORDER BY local_seq LIMIT ?",  # noqa: S608 - fixed names
            (self._agent_id, batch),
        ).fetchall()
        if not rows:
            return None
        if rows[0][0] == "outcome":
            return self._outcome(rows[0])
        events = []
        for row in rows:
            if row[0] != "event":
                break
            events.append(self._event(row))
        return tuple(events)

    def _session_field(self, session_id: str) -> str | None:
        return None if session_id == self._session_id else session_id

    def _event(self, row: tuple[object, ...]) -> DisplayEvent:
        _, item_id, _, session_id, seq, lease_id, code, at, duration, detail, *_ = row
        return DisplayEvent(
            event_id=str(item_id),
            kind=DisplayEventKind(str(code)),
            lease_id=str(lease_id),
            occurred_at=datetime.fromisoformat(str(at)),
            session_seq=int(str(seq)),
            duration_ms=None if duration is None else int(str(duration)),
            detail=BlockedAction(str(detail)) if detail else None,
            session_id=self._session_field(str(session_id)),
        )

    def _outcome(self, row: tuple[object, ...]) -> PendingOutcome:
        _, item_id, _, session_id, seq, lease_id, code, at, _, _, notes, cb_at, cb_for, call_id, reason, sent = row
        request = DispositionRequest(
            lease_id=str(lease_id),
            code=str(code),
            outcome_id=str(item_id),
            session_seq=int(str(seq)),
            occurred_at=datetime.fromisoformat(str(at)),
            notes=self._decrypt(notes, str(item_id)),
            callback_at=datetime.fromisoformat(str(cb_at)) if cb_at else None,
            callback_for=CallbackFor(str(cb_for)) if cb_for else None,
            call_id=str(call_id) if call_id else None,
            no_call_reason=NoCallReason(str(reason)) if reason else None,
            session_id=self._session_field(str(session_id)),
        )
        return PendingOutcome(request=request, sent_before=bool(sent))

    def _decrypt(self, blob: object, item_id: str) -> str | None:
        if not isinstance(blob, bytes):
            return None
        try:
            return self._aead.decrypt(blob[:12], blob[12:], item_id.encode()).decode()
        except (InvalidTag, ValueError):
            log.warning("an outcome's note cannot be decrypted (outbox key changed); sending it without the note")
            return None

    def mark_sent(self, item_id: str) -> None:
        """Remember, durably, that an upload of this item starts (its answer may never come)."""
        self._db.execute("UPDATE item SET sent = 1 WHERE item_id = ?", (item_id,))

    def delete(self, item_ids: list[str]) -> None:
        """Forget items the server acknowledged (or refused for good)."""
        self._db.execute("BEGIN IMMEDIATE")
        self._db.executemany("DELETE FROM item WHERE item_id = ?", [(i,) for i in item_ids])
        self._db.execute("COMMIT")
