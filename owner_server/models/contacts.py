"""Imported contacts: encrypted personal fields plus a keyed blind index."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from owner_server.models._common import UtcDateTime, utcnow

__all__ = ["Contact", "ContactState", "ImportBatch", "new_pick_key"]


class ContactState(StrEnum):
    """Where a contact is in its life.

    A contact of an import batch not yet published is *staged* whatever its
    state (see :mod:`owner_server.lists.visibility`); the database's enum type
    still holds the ``STAGED`` value rows had before migration 0015, unused.
    """

    NEW = "new"
    LEASED = "leased"
    DONE = "done"
    CALLBACK = "callback"
    """A callback is scheduled (``callback_at``; for one agent when ``callback_user_id`` is set)."""
    SUPPRESSED = "suppressed"
    ERASED = "erased"


class ImportBatch(SQLModel, table=True):
    """One import run; its contacts stay staged (invisible) until its ``status`` is ``published``."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    file_sha256: str = Field(max_length=64)
    status: str = Field(default="staging", max_length=16)
    imported: int = 0
    rejected: int = 0
    duplicates: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    owner_process: str | None = Field(default=None, max_length=200)
    """``host:boot:pid:start`` of the importing process (see :mod:`owner_server.core.process_identity`)."""


class Contact(SQLModel, table=True):
    """A contact of a campaign.

    ``payload`` is the encoded map of field name to AES-256-GCM ciphertext
    (see :mod:`owner_server.vault.aead`); the phone is inside it too.
    ``phone_bidx`` is HMAC-SHA256 of the E.164 number under the installation's
    blind-index key, so duplicates and DNC matches need no decryption.
    """

    __table_args__ = (
        Index("ix_contact_campaign_bidx", "campaign_id", "phone_bidx"),
        Index("ix_contact_campaign_state", "campaign_id", "state", "id"),
        # the pick's tiers (owner_server.work.distribution): each an index scan in pick_key order
        # one index probe counts a batch's staged contacts (owner_server.lists.visibility)
        Index("ix_contact_batch_state", "batch_id", "state"),
        Index(
            "ix_contact_fresh_pick",  # read up to the campaign's last published batch: staged rows are never walked
            "campaign_id",
            "pick_batch",
            "pick_key",
            sqlite_where=text("state = 'NEW' AND next_eligible_at IS NULL"),
            postgresql_where=text("state = 'NEW' AND next_eligible_at IS NULL"),
        ),
        Index(
            "ix_contact_retry_pick",
            "campaign_id",
            "next_eligible_at",
            "pick_key",
            sqlite_where=text("state = 'NEW' AND next_eligible_at IS NOT NULL"),
            postgresql_where=text("state = 'NEW' AND next_eligible_at IS NOT NULL"),
        ),
        # canaries per state, subtracted from the covering (campaign_id, state, id) count (audit/reports.py)
        Index(
            "ix_contact_canary_state",
            "campaign_id",
            "state",
            sqlite_where=text("is_canary = 1"),
            postgresql_where=text("is_canary"),
        ),
        Index(
            "ix_contact_callback_pick",  # due callbacks in due order: pending ones are never walked
            "campaign_id",
            "callback_at",
            "pick_key",
            sqlite_where=text("callback_at IS NOT NULL"),
            postgresql_where=text("callback_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, max_length=32)
    campaign_id: int = Field(foreign_key="campaign.id")
    batch_id: int | None = Field(default=None, foreign_key="importbatch.id")
    data_key_id: int = Field(foreign_key="datakey.id")
    payload: bytes
    phone_bidx: bytes
    state: ContactState = Field(default=ContactState.NEW, max_length=16)
    attempts: int = 0
    source_record: int = 0
    #: Random issue order within equal priority (never import order: see :func:`new_pick_key`).
    pick_key: int = Field(default_factory=lambda: new_pick_key())
    #: New contacts are issued batch by batch, oldest published first: the batch id, 0 for none (a canary
    #: takes its template's, so its place in the order says nothing of it).
    pick_batch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    #: When a retry may be issued again (UTC); NULL for a contact never worked.
    next_eligible_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    #: A scheduled callback's time (UTC) and the agent it is owed to (NULL: anyone).
    callback_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    callback_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    #: A synthetic trap contact (``canary add``); never marked as such on the wire.
    is_canary: bool = False


def new_pick_key() -> int:
    """A random issue-order key (31 bits from :mod:`secrets`, so the order of issuance says nothing of the import)."""
    return secrets.randbelow(2**31 - 1)
