"""The do-not-call (DNC) list, stored as blind indexes only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from owner_server.models._common import UtcDateTime, utcnow

__all__ = ["Suppression"]


class Suppression(SQLModel, table=True):
    """One suppressed phone number: its keyed blind index, never the number."""

    id: int | None = Field(default=None, primary_key=True)
    phone_bidx: bytes = Field(unique=True)
    source_sha256: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
