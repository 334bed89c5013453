"""What an alert looks like to the owner (CLI, console, ``--json``): frozen views built from the rows."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from owner_server.audit import log as audit
from owner_server.models import Alert, AlertDelivery

__all__ = ["AlertView", "DeliveryView", "alert_view", "delivery_view"]


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


def delivery_view(row: AlertDelivery) -> DeliveryView:
    """The view of one delivery row."""
    return DeliveryView(
        channel=row.channel,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        sent_at=row.sent_at,
    )


def alert_view(
    alert: Alert, login: str | None, outsourcer: str | None, campaign: str | None, deliveries: list[DeliveryView]
) -> AlertView:
    """The view of an alert row with its agent's login, organisation, campaign and deliveries."""
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
