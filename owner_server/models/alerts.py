"""Alerts raised by the anomaly rules and their delivery to the owner's channels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from owner_server.models._common import UtcDateTime, new_ref, utcnow

__all__ = ["Alert", "AlertDelivery", "AlertStatus", "DeliveryStatus"]


class AlertStatus(StrEnum):
    """Where an alert is in the owner's hands."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"


class DeliveryStatus(StrEnum):
    """Where one channel's copy of an alert is."""

    PENDING = "pending"
    SENT = "sent"


class Alert(SQLModel, table=True):
    """One tripped rule: which, what it did, whom it concerns and the figures behind it.

    ``figures`` is canonical JSON of counts, thresholds and times (never
    personal data); ``action`` is ``alert`` or ``suspend``.
    """

    __table_args__ = (
        Index("ix_alert_user_rule_created", "user_id", "rule", "created_at"),
        Index("ix_alert_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(default_factory=new_ref, unique=True, max_length=32)
    rule: str = Field(max_length=32)
    action: str = Field(max_length=16)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    outsourcer_id: int | None = Field(default=None, foreign_key="outsourcer.id")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    figures: str = "{}"
    status: str = Field(default=AlertStatus.OPEN.value, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
    acked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    acked_by: str | None = Field(default=None, max_length=80)
    ack_note: str | None = Field(default=None, max_length=500)


class AlertDelivery(SQLModel, table=True):
    """One alert's delivery to one channel (``email``, ``webhook``, ``syslog``), retried until sent."""

    __tablename__ = "alert_delivery"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel"),
        Index("ix_alert_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id")
    channel: str = Field(max_length=16)
    status: str = Field(default=DeliveryStatus.PENDING.value, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
    last_error: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
