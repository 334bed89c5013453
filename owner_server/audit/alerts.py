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

from sqlmodel import Session, col, func, select

from owner_server.audit import log as audit
from owner_server.audit.alert_views import AlertView, DeliveryView, alert_view, delivery_view
from owner_server.models import Alert, AlertDelivery, AlertStatus, Campaign, Outsourcer, User
from owner_server.models._common import utcnow
from shared.containment import RuleAction, RuleName
from shared.errors import ConflictError, NotFoundError, ValidationError

__all__ = [
    "MAX_NOTE_CHARS",
    "AlertView",
    "DeliveryView",
    "ack_alert",
    "count_open_alerts",
    "find_alert",
    "get_alert_view",
    "list_alerts",
    "raise_alert",
]

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


def list_alerts(
    session: Session, *, open_only: bool, limit: int = 1000, outsourcer_id: int | None = None
) -> list[AlertView]:
    """The newest alerts first, with each channel's delivery state.

    Args:
        session: A read transaction.
        open_only: Only alerts not yet acknowledged.
        limit: At most this many (newest first).
        outsourcer_id: Only alerts about this organisation's agents (a supervisor's); all when None.

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
    if outsourcer_id is not None:
        query = query.where(col(Alert.outsourcer_id) == outsourcer_id)
    return _views(session, list(session.exec(query).all()))


def _views(session: Session, rows: list[tuple[Alert, str | None, str | None, str | None]]) -> list[AlertView]:
    ids = [alert.id for alert, *_ in rows]
    deliveries: dict[int, list[DeliveryView]] = {}
    if ids:
        found = session.exec(
            select(AlertDelivery).where(col(AlertDelivery.alert_id).in_(ids)).order_by(col(AlertDelivery.channel))
        ).all()
        for row in found:
            deliveries.setdefault(row.alert_id, []).append(delivery_view(row))
    return [
        alert_view(alert, login, outsourcer, campaign, deliveries.get(alert.id or 0, []))
        for alert, login, outsourcer, campaign in rows
    ]


def count_open_alerts(session: Session, *, outsourcer_id: int | None = None) -> int:
    """How many alerts are open (of one organisation's agents when ``outsourcer_id`` is given)."""
    query = select(func.count()).select_from(Alert).where(Alert.status == AlertStatus.OPEN.value)
    if outsourcer_id is not None:
        query = query.where(col(Alert.outsourcer_id) == outsourcer_id)
    return int(session.exec(query).one())


def get_alert_view(session: Session, *, ref: str, outsourcer_id: int | None = None) -> AlertView:
    """One alert with its deliveries (see :func:`find_alert` for ``ref``).

    Raises:
        ValidationError: Bad ref.
        NotFoundError: No such alert (or it concerns another organisation than ``outsourcer_id``).
    """
    alert = find_alert(session, ref=ref, outsourcer_id=outsourcer_id)
    query = (
        select(Alert, User.login, Outsourcer.name, Campaign.name)
        .outerjoin(User, col(User.id) == col(Alert.user_id))
        .outerjoin(Outsourcer, col(Outsourcer.id) == col(Alert.outsourcer_id))
        .outerjoin(Campaign, col(Campaign.id) == col(Alert.campaign_id))
        .where(col(Alert.id) == alert.id)
    )
    return _views(session, list(session.exec(query).all()))[0]


def find_alert(session: Session, *, ref: str, for_update: bool = False, outsourcer_id: int | None = None) -> Alert:
    """The alert with this ref, or the one whose ref starts with it.

    Args:
        session: The transaction.
        ref: The whole ref (32 hex digits) or a unique prefix of at least 8.
        for_update: Lock the row (PostgreSQL) for a change.
        outsourcer_id: Only an alert about this organisation's agents (another one is not found).

    Raises:
        ValidationError: The ref is not hex, too short, or matches several alerts.
        NotFoundError: No alert has it.
    """
    ref = ref.strip().lower()
    if not _REF.match(ref):
        raise ValidationError(f"alert id must be {MIN_REF_PREFIX} to 32 hex digits (as 'alerts list' shows it)")
    query = select(Alert).where(col(Alert.ref).startswith(ref)).limit(2)
    if outsourcer_id is not None:
        query = query.where(col(Alert.outsourcer_id) == outsourcer_id)
    if for_update:
        query = query.with_for_update()
    found = session.exec(query).all()
    if not found:
        raise NotFoundError(f"no alert {ref}")
    if len(found) > 1:
        raise ValidationError(f"alert id {ref} matches several alerts; give more digits")
    return found[0]


def ack_alert(
    session: Session,
    *,
    ref: str,
    note: str,
    actor: str,
    now: datetime | None = None,
    outsourcer_id: int | None = None,
) -> Alert:
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
        outsourcer_id: Only an alert about this organisation's agents (see :func:`find_alert`).

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
    alert = find_alert(session, ref=ref, for_update=True, outsourcer_id=outsourcer_id)
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
