"""Calls placed by the owner's telephony for a lease: times, state and result, never a number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from owner_server.models._common import UtcDateTime, new_ref, utcnow

__all__ = ["Call"]


class Call(SQLModel, table=True):
    """One dial request of an agent and what the telephony made of it.

    ``state``/``result`` hold :class:`shared.calls.CallState` /
    :class:`shared.calls.CallResult` values. ``request_id`` is the
    client's idempotency id (unique per agent: a retried request places no
    second call). ``agent_channel``/``customer_channel`` are the provider's
    channel ids (opaque, no number in them). No column holds a phone number.
    """

    __table_args__ = (
        UniqueConstraint("user_id", "request_id"),
        Index("ix_call_user_state", "user_id", "state"),
    )

    id: str = Field(default_factory=new_ref, primary_key=True, max_length=32)
    lease_id: str = Field(foreign_key="lease.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    user_id: int = Field(foreign_key="app_user.id")
    campaign_id: int = Field(foreign_key="campaign.id")
    request_id: str = Field(max_length=64)
    provider: str = Field(max_length=16)
    agent_channel: str | None = Field(default=None, max_length=80)
    customer_channel: str | None = Field(default=None, max_length=80)
    state: str = Field(max_length=24)
    result: str | None = Field(default=None, max_length=24)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
    agent_answered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    ring_s: int = 0
    talk_s: int = 0
    #: The provider's hang-up cause of the leg that ended the call (Q.850 code), when it gave one.
    cause: int | None = None
    #: When the agent asked to hang up (the legs end when the provider says so).
    hangup_requested_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    #: When the after_answer fields were first sent for this call (audited once).
    fields_revealed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
