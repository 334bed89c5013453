"""Alerts: a tripped rule recorded for the owner, audited in the same transaction.

Raising an alert writes the :class:`~owner_server.models.Alert` row and its
``alert_raised`` audit entry in the caller's transaction; the running server
delivers it to the configured channels afterwards (see
:mod:`owner_server.audit.delivery`). Figures are counts, thresholds and times,
never personal data.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from owner_server.audit import log as audit
from owner_server.models import Alert, AlertDelivery, AlertStatus, Campaign, Outsourcer, User
from owner_server.models._common import utcnow
from shared.containment import RuleAction, RuleName
from shared.errors import ConflictError, NotFoundError, ValidationError

__all__ = ["MAX_NOTE_CHARS", "AlertView", "DeliveryView", "ack_alert", "find_alert", "list_alerts", "raise_alert"]

#: Longest acknowledgement note (the column holds 500).
MAX_NOTE_CHARS = 500
#: Shortest ref prefix ``ack`` accepts (the list shows 12 characters).
MIN_REF_PREFIX = 8
_REF = re.compile(rf"^[0-9a-f]{{{MIN_REF_PREFIX},32}}$")


def raise_alert(
    session: Session,
    *,
    rule: RuleName,
    action: RuleAction,
    user: User | None,
    figures: Mapping[str, audit.Detail],
    campaign_id: int | None = None,
    actor: str = "system:rules",
    quiet_for: timedelta | None = None,
    now: datetime | None = None,
) -> Alert | None:
    """Record an alert (and its audit entry) in the caller's transaction.

    Args:
        session: The transaction of the request that tripped the rule.
        rule: Which rule.
        action: ``alert`` or ``suspend`` (what the rule did).
        user: The agent concerned, if any.
        figures: Counts, thresholds and times behind it (no personal data).
        campaign_id: The campaign concerned, if any.
        actor: The audit actor.
        quiet_for: When given, no new alert is raised if one of the same rule
            for the same user was raised within this long (a rule that keeps
            tripping alerts once, not on every request).
        now: The time of the tripping request (UTC); the clock when None.

    Returns:
        The new alert (flushed), or None when a recent one already covers it.
    """
    now = now or utcnow()
    user_id = user.id if user is not None else None
    if quiet_for is not None:
        recent = session.exec(
            select(Alert.id)
            .where(Alert.rule == rule.value, Alert.user_id == user_id, col(Alert.created_at) > now - quiet_for)
            .limit(1)
        ).first()
        if recent is not None:
            return None
    alert = Alert(
        rule=rule.value,
        action=action.value,
        user_id=user_id,
        outsourcer_id=user.outsourcer_id if user is not None else None,
        campaign_id=campaign_id,
        figures=json.dumps(dict(figures), sort_keys=True, separators=(",", ":")),
        created_at=now,
    )
    session.add(alert)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="alert_raised",
        object_type="alert",
        object_id=alert.ref,
        details={"rule": rule.value, "action": action.value, "agent": user.ref if user else None, **figures},
    )
    return alert


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeliveryView(_View):
    """One channel's copy of an alert.

    Attributes:
        channel: ``email``, ``webhook`` or ``syslog``.
        status: ``pending`` or ``sent``.
        attempts: Tries so far.
        next_attempt_at: When a pending delivery is tried next (UTC).
        last_error: Why the last try failed (no personal data), if it did.
        sent_at: When it was delivered (UTC), once sent.
    """

    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None


class AlertView(_View):
    """An alert as the owner sees it (CLI, console, ``--json``).

    Attributes:
        ref: The alert's opaque id.
        rule: Which rule tripped (:class:`~shared.containment.RuleName` value).
        action: ``alert`` or ``suspend``.
        agent: The agent's login, if the alert concerns one.
        outsourcer: The agent's outsourcer, if any.
        campaign: The campaign concerned, if any.
        figures: Counts, thresholds and times behind it.
        status: ``open`` or ``acknowledged``.
        created_at: When it was raised (UTC).
        acked_at: When it was acknowledged (UTC).
        acked_by: Who acknowledged it.
        ack_note: Their note.
        deliveries: One entry per channel it was queued for.
    """

    ref: str
    rule: str
    action: str
    agent: str | None
    outsourcer: str | None
    campaign: str | None
    figures: dict[str, audit.Detail]
    status: str
    created_at: datetime
    acked_at: datetime | None
    acked_by: str | None
    ack_note: str | None
    deliveries: list[DeliveryView]


def list_alerts(session: Session, *, open_only: bool, limit: int = 1000) -> list[AlertView]:
    """The newest alerts first, with each channel's delivery state.

    Args:
        session: A read transaction.
        open_only: Only alerts not yet acknowledged.
        limit: At most this many (newest first).

    Returns:
        The alerts as views.
    """
    query = (
        select(Alert, User.login, Outsourcer.name, Campaign.name)
        .outerjoin(User, col(User.id) == col(Alert.user_id))
        .outerjoin(Outsourcer, col(Outsourcer.id) == col(Alert.outsourcer_id))
        .outerjoin(Campaign, col(Campaign.id) == col(Alert.campaign_id))
        .order_by(col(Alert.created_at).desc(), col(Alert.id).desc())
        .limit(limit)
    )
    if open_only:
        query = query.where(Alert.status == AlertStatus.OPEN.value)
    rows = session.exec(query).all()
    ids = [alert.id for alert, *_ in rows]
    deliveries: dict[int, list[DeliveryView]] = {}
    if ids:
        found = session.exec(
            select(AlertDelivery).where(col(AlertDelivery.alert_id).in_(ids)).order_by(col(AlertDelivery.channel))
        ).all()
        for row in found:
            deliveries.setdefault(row.alert_id, []).append(_delivery_view(row))
    return [
        _alert_view(alert, login, outsourcer, campaign, deliveries.get(alert.id or 0, []))
        for alert, login, outsourcer, campaign in rows
    ]


def _delivery_view(row: AlertDelivery) -> DeliveryView:
    return DeliveryView(
        channel=row.channel,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        sent_at=row.sent_at,
    )


def _alert_view(
    alert: Alert, login: str | None, outsourcer: str | None, campaign: str | None, deliveries: list[DeliveryView]
) -> AlertView:
    return AlertView(
        ref=alert.ref,
        rule=alert.rule,
        action=alert.action,
        agent=login,
        outsourcer=outsourcer,
        campaign=campaign,
        figures=json.loads(alert.figures or "{}"),
        status=alert.status,
        created_at=alert.created_at,
        acked_at=alert.acked_at,
        acked_by=alert.acked_by,
        ack_note=alert.ack_note,
        deliveries=deliveries,
    )


def find_alert(session: Session, *, ref: str, for_update: bool = False) -> Alert:
    """The alert with this ref, or the one whose ref starts with it.

    Args:
        session: The transaction.
        ref: The whole ref (32 hex digits) or a unique prefix of at least 8.
        for_update: Lock the row (PostgreSQL) for a change.

    Raises:
        ValidationError: The ref is not hex, too short, or matches several alerts.
        NotFoundError: No alert has it.
    """
    ref = ref.strip().lower()
    if not _REF.match(ref):
        raise ValidationError(f"alert id must be {MIN_REF_PREFIX} to 32 hex digits (as 'alerts list' shows it)")
    query = select(Alert).where(col(Alert.ref).startswith(ref)).limit(2)
    if for_update:
        query = query.with_for_update()
    found = session.exec(query).all()
    if not found:
        raise NotFoundError(f"no alert {ref}")
    if len(found) > 1:
        raise ValidationError(f"alert id {ref} matches several alerts; give more digits")
    return found[0]


def ack_alert(session: Session, *, ref: str, note: str, actor: str, now: datetime | None = None) -> Alert:
    """Acknowledge an open alert with a note, audited in the same transaction.

    The audit entry holds the note's SHA-256 and length, not its text (a note
    may name someone; the append-only log must not), binding the stored note
    to the chain.

    Args:
        session: The transaction.
        ref: The alert's ref or a unique prefix (see :func:`find_alert`).
        note: What the owner did about it (1 to 500 characters).
        actor: Who acknowledges, e.g. ``admin:cli``.
        now: The time (UTC); the clock when None.

    Returns:
        The acknowledged alert.

    Raises:
        ValidationError: Bad ref or note.
        NotFoundError: No such alert.
        ConflictError: It was already acknowledged.
    """
    note = note.strip()
    if not note:
        raise ValidationError("the note must say what was done (--note TEXT)")
    if len(note) > MAX_NOTE_CHARS:
        raise ValidationError(f"the note is {len(note)} characters; at most {MAX_NOTE_CHARS}")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in note):
        raise ValidationError("the note holds control characters")
    alert = find_alert(session, ref=ref, for_update=True)
    if alert.status != AlertStatus.OPEN.value:
        when = alert.acked_at.isoformat(timespec="seconds") if alert.acked_at else "earlier"
        raise ConflictError(f"alert {alert.ref[:12]} was already acknowledged by {alert.acked_by} at {when}")
    alert.status = AlertStatus.ACKNOWLEDGED.value
    alert.acked_at = now or utcnow()
    alert.acked_by = actor[:80]
    alert.ack_note = note
    session.add(alert)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="alert_acknowledged",
        object_type="alert",
        object_id=alert.ref,
        details={
            "rule": alert.rule,
            "note_chars": len(note),
            "note_sha256": hashlib.sha256(note.encode()).hexdigest(),
        },
    )
    return alert
