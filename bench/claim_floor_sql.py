"""The raw-SQL floor of one claim: the same work as the services, in hand-written statements on the DB-API.

One claim is three transactions, as the agent API runs them: ``next`` (authenticate the
token, agent lock on PostgreSQL, open-lease check, the issuance counts, the hourly/daily
limits and the velocity rule, pick, lease, contact state, decrypt, watermark signature,
audit entry chained to the head), ``events`` (authenticate, lease check, the event caps,
the event row, its audit entry, the session sequence, the focus-loss rule) and
``disposition`` (authenticate, lease locked, outcome, contact moved on, lease closed,
audit entry). Nothing is built per call but the parameters; every statement is text.
The pick is the common case's one statement (new contacts, not suppressed, never had by
this agent), where the services probe the callback tiers first (``work/distribution.py``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from owner_server.audit import watermark
from owner_server.vault.aead import FieldCipher
from shared.limits import LIMITS
from shared.policy import CampaignPolicy, apply_policy

__all__ = ["FloorSeat", "FloorWorker"]

_AUTH = """SELECT t.user_id, t.session_id, t.revoked, t.expires_at, u.suspended, u.campaign_id, u.ref, d.revoked
FROM accesstoken t JOIN app_user u ON u.id = t.user_id JOIN device d ON d.id = t.device_id
WHERE t.token_hash = ?"""
_COUNTS = """SELECT count(*), coalesce(sum(CASE WHEN issued_at > ? THEN 1 ELSE 0 END), 0),
coalesce(sum(CASE WHEN issued_at >= ? THEN 1 ELSE 0 END), 0),
coalesce(sum(CASE WHEN issued_at > ? THEN 1 ELSE 0 END), 0)
FROM lease WHERE user_id = ? AND issued_at > ?"""
_PICK = """SELECT c.id, c.ref, c.payload, c.data_key_id, c.attempts FROM contact c
WHERE c.campaign_id = ? AND c.state = 'NEW' AND c.next_eligible_at IS NULL AND c.attempts < ?
AND c.pick_batch <= coalesce((SELECT max(b.id) FROM importbatch b WHERE b.campaign_id = ?
AND b.status = 'published'), 0)
AND (c.batch_id IS NULL OR c.batch_id NOT IN (SELECT b.id FROM importbatch b WHERE b.status != 'published'))
AND NOT EXISTS (SELECT 1 FROM suppression s WHERE s.phone_bidx = c.phone_bidx)
AND NOT EXISTS (SELECT 1 FROM lease l WHERE l.contact_id = c.id AND l.user_id = ?)
ORDER BY c.pick_batch, c.pick_key LIMIT 1"""
_FOCUS = """SELECT count(*), coalesce(sum(CASE WHEN EXISTS (SELECT 1 FROM display_event AS lost
WHERE lost.user_id = ? AND lost.kind = 'focus_lost' AND lost.lease_id = recent.lease_id) THEN 1 ELSE 0 END), 0)
FROM (SELECT lease_id FROM display_event WHERE user_id = ? AND kind = 'record_displayed'
ORDER BY received_at DESC LIMIT ?) AS recent"""


class FloorSeat:
    """One agent as the floor knows it: its bearer token's hash and its clock."""

    def __init__(self, token_hash: str, now: datetime) -> None:
        self.token_hash = token_hash
        self.now = now


class FloorWorker:
    """One worker's connection and the per-claim statements (one instance per thread).

    Args:
        engine: The installation's engine (its pool gives this worker a raw DB-API connection).
        policy: The campaign's policy (parsed once: the floor keeps it in memory).
        cipher: The campaign's field cipher (unwrapped once).
        watermark_key: The installation's watermark key.
    """

    def __init__(
        self, engine: Engine, *, policy: CampaignPolicy, cipher: FieldCipher, watermark_key: Ed25519PrivateKey
    ):
        self.pg = engine.dialect.name == "postgresql"
        self.raw: Any = engine.raw_connection()
        self.conn: Any = self.raw.driver_connection
        self.policy, self.cipher, self.wm_key = policy, cipher, watermark_key

    def close(self) -> None:
        """Give the connection back."""
        self.raw.close()

    def _q(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        if self.pg:
            sql = sql.replace("?", "%s")
        cur = self.conn.cursor()
        cur.execute(sql, params)
        return cur

    def _ts(self, value: datetime) -> Any:
        """A timestamp as the schema stores it (SQLAlchemy's SQLite text form; a datetime on PostgreSQL)."""
        return value if self.pg else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def _begin(self) -> None:
        if not self.pg:
            self._q("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self.conn.commit() if self.pg else self._q("COMMIT")

    def _auth(self, seat: FloorSeat) -> tuple[int, str, int, str]:
        row = self._q(_AUTH, (seat.token_hash,)).fetchone()
        if row is None:
            raise PermissionError("not logged in")
        expires = row[3] if self.pg else datetime.fromisoformat(row[3]).replace(tzinfo=UTC)
        if row[2] or row[4] or row[7] or expires < seat.now:
            raise PermissionError("not logged in")
        return int(row[0]), str(row[1]), int(row[5]), str(row[6])

    def _audit(self, *, actor: str, action: str, object_id: str, details: dict[str, Any]) -> None:
        head = self._q("SELECT seq, hash FROM audithead WHERE id = 1" + (" FOR UPDATE" if self.pg else "")).fetchone()
        seq, prev = int(head[0]) + 1, str(head[1])
        ts = datetime.now(UTC).isoformat(timespec="microseconds")
        body = json.dumps(details, sort_keys=True, separators=(",", ":"))
        canonical = {"seq": seq, "ts": ts, "actor": actor, "action": action, "object_type": "contact"}
        canonical |= {"object_id": object_id, "details": body}
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        digest = hashlib.sha256(prev.encode() + b"\n" + text).hexdigest()
        self._q(
            "INSERT INTO auditentry (seq, ts, actor, action, object_type, object_id, details, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, 'contact', ?, ?, ?, ?)",
            (seq, ts, actor, action, object_id, body, prev, digest),
        )
        self._q("UPDATE audithead SET seq = ?, hash = ? WHERE id = 1", (seq, digest))

    def next_record(self, seat: FloorSeat) -> str:
        """Lease, audit and decrypt the next contact; returns the lease id."""
        now, rules = seat.now, self.policy.rules
        self._begin()
        user_id, session_id, campaign_id, user_ref = self._auth(seat)
        if self.pg:
            self._q("SELECT id FROM app_user WHERE id = ? FOR UPDATE", (user_id,))
        if self._q("SELECT id FROM lease WHERE user_id = ? AND closed_at IS NULL", (user_id,)).fetchone():
            raise RuntimeError("the floor never leaves a lease open")
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=1)
        hour, window = now - timedelta(hours=1), now - timedelta(minutes=rules.velocity.window_minutes)
        counts = self._q(
            _COUNTS, (self._ts(hour), self._ts(day_start), self._ts(window), user_id, self._ts(min(hour, day_start)))
        ).fetchone()
        limits = self.policy.limits
        if counts[1] >= limits.per_hour or counts[2] >= limits.per_day or counts[3] + 1 > rules.velocity.max_records:
            raise RuntimeError("the floor never reaches a limit")
        pick = _PICK + (" FOR UPDATE OF c SKIP LOCKED" if self.pg else "")
        contact = self._q(pick, (campaign_id, self.policy.strategy.max_attempts, campaign_id, user_id)).fetchone()
        lease_id = hashlib.md5(f"{user_id}|{now.isoformat()}".encode(), usedforsecurity=False).hexdigest()
        expires = now + timedelta(seconds=LIMITS.lease_ttl_s)
        self._q(
            "INSERT INTO lease (id, user_id, contact_id, campaign_id, issued_at, expires_at, last_session_id, reissues)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            (lease_id, user_id, contact[0], campaign_id, self._ts(now), self._ts(expires), session_id),
        )
        self._q("UPDATE contact SET state = 'LEASED' WHERE id = ?", (contact[0],))
        values = self.cipher.decrypt_fields(contact[1], bytes(contact[2]))
        fields = apply_policy(self.policy, values)
        self.cipher.pseudonym(contact[1])
        claims = watermark.WatermarkClaims(agent_id=user_id, lease_id=lease_id, issued_at=now)
        watermark.encode_code(watermark.sign_claims(self.wm_key, claims))
        details = {"lease_id": lease_id, "session_id": session_id, "fields": len(fields)}
        self._audit(actor=f"agent:{user_ref}", action="record_issued", object_id=contact[1], details=details)
        self._commit()
        return lease_id

    def displayed(self, seat: FloorSeat, lease_id: str, seq: int, event_id: str) -> None:
        """Store and audit one ``record_displayed`` event, then run the focus-loss rule."""
        now = seat.now
        self._begin()
        user_id, session_id, _, user_ref = self._auth(seat)
        lease = self._q(
            "SELECT l.user_id, c.ref FROM lease l JOIN contact c ON c.id = l.contact_id WHERE l.id = ?", (lease_id,)
        ).fetchone()
        assert lease[0] == user_id
        self._q(
            "SELECT count(*) FROM display_event WHERE user_id = ? AND received_at > ?",
            (user_id, self._ts(now - timedelta(hours=1))),
        ).fetchone()
        self._q("SELECT count(*) FROM display_event WHERE lease_id = ?", (lease_id,)).fetchone()
        self._q(
            "INSERT INTO display_event (user_id, event_id, session_id, lease_id, kind, session_seq, occurred_at,"
            " received_at) VALUES (?, ?, ?, ?, 'record_displayed', ?, ?, ?)",
            (user_id, event_id, session_id, lease_id, seq, self._ts(now), self._ts(now)),
        )
        details = {"lease_id": lease_id, "event_id": event_id, "seq": seq, "duration_ms": None}
        self._audit(actor=f"agent:{user_ref}", action="record_displayed", object_id=lease[1], details=details)
        self._q(
            "INSERT INTO session_sequence (session_id, user_id, last_seq, gaps) VALUES (?, ?, ?, 0)"
            " ON CONFLICT (session_id) DO UPDATE SET last_seq = excluded.last_seq",
            (session_id, user_id, seq),
        )
        focus = self.policy.rules.focus_loss
        self._q(_FOCUS, (user_id, user_id, focus.displays)).fetchone()
        self._commit()

    def disposition(self, seat: FloorSeat, lease_id: str, code: str) -> None:
        """Close the lease with an outcome: contact moved on, disposition stored, audited."""
        now = seat.now
        self._begin()
        user_id, session_id, _, user_ref = self._auth(seat)
        lock = " FOR UPDATE" if self.pg else ""
        lease = self._q("SELECT user_id, contact_id, closed_at FROM lease WHERE id = ?" + lock, (lease_id,)).fetchone()
        assert lease[0] == user_id and lease[2] is None
        assert self._q("SELECT id FROM disposition WHERE lease_id = ?", (lease_id,)).fetchone() is None
        contact = self._q("SELECT ref, attempts FROM contact WHERE id = ?", (lease[1],)).fetchone()
        retry = now + timedelta(minutes=self.policy.strategy.retry_delay_minutes(code))
        self._q(
            "UPDATE contact SET attempts = attempts + 1, state = 'NEW', next_eligible_at = ?, callback_at = NULL,"
            " callback_user_id = NULL WHERE id = ?",
            (self._ts(retry), lease[1]),
        )
        self._q("UPDATE lease SET closed_at = ? WHERE id = ?", (self._ts(now), lease_id))
        self._q(
            "INSERT INTO disposition (lease_id, contact_id, user_id, code, created_at, late) VALUES (?, ?, ?, ?, ?, ?)",
            (lease_id, lease[1], user_id, code, self._ts(now), False),
        )
        details = {"lease_id": lease_id, "code": code, "session_id": session_id, "notes": False}
        details |= {"attempts": int(contact[1]) + 1, "state": "new"}
        self._audit(actor=f"agent:{user_ref}", action="disposition_recorded", object_id=contact[0], details=details)
        self._commit()
