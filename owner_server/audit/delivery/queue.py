"""The delivery queue in the database: one ``alert_delivery`` row per alert and channel.

Safe with several server processes on one PostgreSQL:

- *queueing* inserts the missing rows with ``ON CONFLICT DO NOTHING`` on the
  unique (alert_id, channel) constraint, so two workers queue an alert once;
- *claiming* takes due rows ``FOR UPDATE SKIP LOCKED`` and, in that short
  transaction, counts the attempt and moves ``next_attempt_at`` a claim lease
  ahead, so no other worker sees them as due while this one sends (outside any
  transaction: no lock is held over the network);
- *settling* marks the row sent, or schedules the retry, only if the row still
  carries this worker's attempt number.

Delivery is therefore once per channel while sends finish within the lease,
and at least once if a process dies mid-send (receivers de-duplicate on the
alert ref). SQLite runs every transaction as the single writer (``BEGIN
IMMEDIATE``), which gives the same guarantees.

Which alerts a worker considers: those raised within ``backlog_hours`` (default
24) that have no row for the channel yet. A channel configured today therefore
does not receive years of old alerts; an alert raised while a channel was down
is queued at once and retried until it is sent, however long that takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from owner_server.models import Alert, AlertDelivery, DeliveryStatus

__all__ = [
    "BACKOFF_BASE_S",
    "BACKOFF_CAP_S",
    "Claim",
    "backoff",
    "claim_due",
    "enqueue",
    "mark_failed",
    "mark_sent",
    "release",
]

#: First retry delay; doubles per attempt.
BACKOFF_BASE_S = 5.0
#: Longest delay between two attempts.
BACKOFF_CAP_S = 300.0


@dataclass(frozen=True)
class Claim:
    """A delivery this worker holds until ``lease_until``.

    Attributes:
        delivery_id: The ``alert_delivery`` row.
        alert_id: Its alert.
        attempt: The attempt number this worker took (its claim token).
    """

    delivery_id: int
    alert_id: int
    attempt: int


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: 5 s, 10 s, 20 s ... capped at 5 minutes."""
    exponent = max(0, min(attempts - 1, 30))
    return timedelta(seconds=min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**exponent))


def enqueue(session: Session, *, channel: str, now: datetime, backlog: timedelta, limit: int = 500) -> int:
    """Queue the recent alerts this channel has not had.

    Args:
        session: The transaction.
        channel: ``email``, ``webhook`` or ``syslog``.
        now: The current time (UTC).
        backlog: Only alerts raised since ``now - backlog``.
        limit: At most this many per call.

    Returns:
        How many alerts were considered (rows inserted or already there).
    """
    missing = session.exec(
        select(Alert.id)
        .where(
            col(Alert.created_at) >= now - backlog,
            ~exists().where(col(AlertDelivery.alert_id) == col(Alert.id), col(AlertDelivery.channel) == channel),
        )
        .order_by(col(Alert.id))
        .limit(limit)
    ).all()
    if not missing:
        return 0
    rows = [
        {
            "alert_id": alert_id,
            "channel": channel,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
        }
        for alert_id in missing
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(AlertDelivery).values(rows).on_conflict_do_nothing(index_elements=["alert_id", "channel"]))
    return len(missing)


def claim_due(session: Session, *, channel: str, now: datetime, lease: timedelta, limit: int = 20) -> list[Claim]:
    """Take the due deliveries of a channel for ``lease`` (skipping rows another worker holds).

    Args:
        session: A short transaction (commit it before sending).
        channel: The channel.
        now: The current time (UTC).
        lease: How long the claim keeps other workers off (longer than a send can take).
        limit: At most this many.

    Returns:
        The claims, oldest due first.
    """
    due = session.exec(
        select(AlertDelivery)
        .where(
            AlertDelivery.channel == channel,
            AlertDelivery.status == DeliveryStatus.PENDING.value,
            col(AlertDelivery.next_attempt_at) <= now,
        )
        .order_by(col(AlertDelivery.next_attempt_at), col(AlertDelivery.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claims = []
    for row in due:
        row.attempts += 1
        row.next_attempt_at = now + lease
        session.add(row)
        assert row.id is not None
        claims.append(Claim(delivery_id=row.id, alert_id=row.alert_id, attempt=row.attempts))
    session.flush()
    return claims


def _settle(session: Session, claim: Claim, **values: object) -> bool:
    result = session.execute(
        update(AlertDelivery)
        .where(
            col(AlertDelivery.id) == claim.delivery_id,
            col(AlertDelivery.attempts) == claim.attempt,
            col(AlertDelivery.status) == DeliveryStatus.PENDING.value,
        )
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_sent(session: Session, claim: Claim, *, now: datetime) -> bool:
    """Record a delivery as sent.

    Returns:
        False when the row no longer carries this claim (another worker took it over).
    """
    return _settle(session, claim, status=DeliveryStatus.SENT.value, sent_at=now, last_error=None)


def mark_failed(session: Session, claim: Claim, *, now: datetime, reason: str) -> bool:
    """Record a failed try and schedule the next with exponential back-off.

    Args:
        session: The transaction.
        claim: The claim that failed.
        now: The current time (UTC).
        reason: Why (no personal data; see :func:`~owner_server.audit.delivery.errors.safe_reason`).

    Returns:
        False when the row no longer carries this claim.
    """
    return _settle(session, claim, next_attempt_at=now + backoff(claim.attempt), last_error=reason[:200])


def release(session: Session, claim: Claim, *, until: datetime) -> bool:
    """Give back a claim that was not tried (its channel just failed): not counted as an attempt.

    Args:
        session: The transaction.
        claim: The untried claim.
        until: When it becomes due again (with the failed delivery's retry).

    Returns:
        False when the row no longer carries this claim.
    """
    return _settle(session, claim, attempts=claim.attempt - 1, next_attempt_at=until)
