"""Leases, dispositions and display events: the agent's work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from owner_server.models._common import UtcDateTime, new_ref, utcnow

__all__ = ["DisplayEventRow", "Disposition", "Lease", "SessionSequence", "VerifyTry"]


class Lease(SQLModel, table=True):
    """The one record an agent holds now. At most one open lease per agent."""

    __table_args__ = (
        Index(
            "ux_lease_open_per_agent",
            "user_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_lease_user_issued", "user_id", "issued_at"),
        Index("ix_lease_contact_user", "contact_id", "user_id"),  # the pick: "this agent had it"
        Index("ix_lease_issued", "issued_at", "user_id"),  # every agent's records in the last hour (audit/live.py)
    )

    id: str = Field(default_factory=new_ref, primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="app_user.id")
    contact_id: int = Field(foreign_key="contact.id", index=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    issued_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    #: The session the record was last returned to, and how often it was returned again (audit once per session).
    last_session_id: str | None = Field(default=None, max_length=32)
    reissues: int = 0


class Disposition(SQLModel, table=True):
    """The outcome an agent recorded for a lease.

    ``notes`` is AES-256-GCM under the contact's campaign data key, bound to the
    contact and the lease (:func:`owner_server.work.outcome_store.notes_field`).
    ``outcome_id`` is the client's idempotency id (unique per agent); ``late``
    marks an outcome that arrived after its lease had expired.
    """

    __table_args__ = (
        Index("ix_disposition_user_created", "user_id", "created_at"),
        UniqueConstraint("user_id", "outcome_id", name="ux_disposition_user_outcome"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lease_id: str = Field(foreign_key="lease.id", unique=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    user_id: int = Field(foreign_key="app_user.id")
    code: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
    notes: bytes | None = None
    callback_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    callback_for: str | None = Field(default=None, max_length=16)
    outcome_id: str | None = Field(default=None, max_length=64)
    session_seq: int | None = None
    occurred_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    call_id: str | None = Field(default=None, max_length=64)
    no_call_reason: str | None = Field(default=None, max_length=32)
    late: bool = False


class SessionSequence(SQLModel, table=True):
    """The highest ``session_seq`` seen from one agent session (display events and outcomes), to spot gaps."""

    __tablename__ = "session_sequence"

    session_id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="app_user.id")
    last_seq: int = 0
    gaps: int = 0


class VerifyTry(SQLModel, table=True):
    """One ``verify_only`` try: which lease and field, and whether it matched (never the values)."""

    __tablename__ = "verify_try"
    __table_args__ = (Index("ix_verify_try_lease_field", "lease_id", "field"),)

    id: int | None = Field(default=None, primary_key=True)
    lease_id: str = Field(foreign_key="lease.id")
    field: str = Field(max_length=64)
    matched: bool
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))


class DisplayEventRow(SQLModel, table=True):
    """A display event reported by a client; unique per (agent, event id).

    ``detail`` is the blocked action of an ``action_blocked`` event, else NULL.
    """

    __tablename__ = "display_event"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        Index("ix_display_event_user_kind_at", "user_id", "kind", "received_at"),
        Index("ix_display_event_user_at", "user_id", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    event_id: str = Field(max_length=64)
    session_id: str = Field(max_length=32)
    lease_id: str = Field(foreign_key="lease.id", index=True)
    kind: str = Field(max_length=32)
    session_seq: int
    duration_ms: int | None = None
    detail: str | None = Field(default=None, max_length=32)
    occurred_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
