"""Free-text notes given with an erasure, encrypted; the audit entry holds only their id and hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from owner_server.models._common import UtcDateTime, new_ref, utcnow

__all__ = ["ErasureNote"]


class ErasureNote(SQLModel, table=True):
    """The owner's note on one contact erasure, for one campaign it touched.

    ``ciphertext`` is AES-256-GCM under the installation's ``secrets`` data key
    (KEK-wrapped), bound to ``ref``; ``sha256`` is the hash the audit entries
    carry (see :mod:`owner_server.lists.erasure_notes`). The row is deleted when
    its campaign is erased.
    """

    __tablename__ = "erasure_note"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(default_factory=new_ref, unique=True, max_length=32)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    actor: str = Field(max_length=200)
    sha256: str = Field(max_length=64)
    ciphertext: bytes
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
