"""Agent login sessions and their single-use refresh tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from owner_server.models._common import UtcDateTime

__all__ = ["AgentSession", "RefreshToken"]


class AgentSession(SQLModel, table=True):
    """One login of an agent on one device, renewed by refresh until it ends.

    ``ends_at`` is the latest the session may last (login time plus the
    maximum session length); ``ended_at``/``end_reason`` say when and why it
    ended earlier (``refresh_reused``, ``new_login``, ``revoked``,
    ``max_length``, ``suspended``, ``device_revoked``).
    """

    __tablename__ = "agent_session"

    session_id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    device_id: str = Field(foreign_key="device.id")
    started_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    ends_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    end_reason: str | None = Field(default=None, max_length=32)
    refreshes: int = 0


class RefreshToken(SQLModel, table=True):
    """A refresh token, stored as its SHA-256; ``used_at`` is set when it was exchanged (once).

    ``access_hash`` is the access token issued with it: when that one was
    revoked (suspension, a new login), the session is over.
    """

    __tablename__ = "refresh_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    session_id: str = Field(foreign_key="agent_session.session_id", index=True, max_length=32)
    access_hash: str = Field(max_length=64)
    issued_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
