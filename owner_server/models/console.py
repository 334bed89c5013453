"""Owner console sessions and the TOTP recovery codes of console users."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from owner_server.models._common import UtcDateTime

__all__ = ["ConsoleSession", "ConsoleStage", "RecoveryCode"]


class ConsoleStage(StrEnum):
    """How far a console login has got.

    ``password``: the password was right; the second factor (or TOTP
    enrolment) is still due and nothing but that page is served. ``active``:
    fully logged in.
    """

    PASSWORD = "password"  # noqa: S105 - a stage name, not a secret
    ACTIVE = "active"


class ConsoleSession(SQLModel, table=True):
    """One browser login to the owner console.

    The cookie holds a random token; only its SHA-256 (``token_hash``) is
    stored. ``csrf_token`` is the synchronizer token every unsafe request must
    echo (OWASP CSRF Prevention Cheat Sheet). A session ends at ``ended_at``
    (``logout``, ``logout_everywhere``, ``idle``, ``suspended``, ``second_factor``)
    or after ``last_seen_at`` plus the idle timeout.
    """

    __tablename__ = "console_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    stage: ConsoleStage = Field(max_length=16)
    csrf_token: str = Field(max_length=64)
    address: str = Field(default="", max_length=64)
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    end_reason: str | None = Field(default=None, max_length=32)
    #: Failed second-factor tries in this login (the login ends after a few).
    factor_failures: int = 0


class RecoveryCode(SQLModel, table=True):
    """A single-use recovery code for a lost TOTP device, stored as an argon2id hash."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    code_hash: str = Field(max_length=255)
    used_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
