"""Alerts: a tripped rule recorded for the owner, audited in the same transaction.

Raising an alert writes the :class:`~owner_server.models.Alert` row and its
``alert_raised`` audit entry in the caller's transaction; the running server
delivers it to the configured channels afterwards (see
:mod:`owner_server.audit.delivery`). Figures are counts, thresholds and times,
never personal data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from owner_server.audit import log as audit
from owner_server.models import Alert, User
from owner_server.models._common import utcnow
from shared.containment import RuleAction, RuleName

__all__ = ["raise_alert"]


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
