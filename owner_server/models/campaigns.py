"""Campaigns and their wrapped data keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from owner_server.models._common import UtcDateTime, utcnow

__all__ = ["Campaign", "DataKey"]


class Campaign(SQLModel, table=True):
    """An owner's campaign: its field policy (JSON of ``CampaignPolicy``)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=120)
    policy_json: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
    erased_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    #: When the campaign ended; with ``retention_days`` it dates the automatic erasure.
    ends_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    #: Days after ``ends_at`` when the campaign's contacts are erased; None keeps them.
    retention_days: int | None = None


class DataKey(SQLModel, table=True):
    """A data key (DEK) wrapped by a key-encryption key version.

    ``purpose`` is ``campaign`` (with ``campaign_id``), ``secrets`` (TOTP seeds) or ``blind_index`` (one
    per installation). ``wrapped`` is AES-256-GCM(KEK, DEK) with the key's
    identity as associated data; destroying a key sets ``wrapped`` to empty.
    """

    __table_args__ = (UniqueConstraint("purpose", "campaign_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=16)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    version: int = 1
    kek_version: int
    wrapped: bytes
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
    destroyed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
