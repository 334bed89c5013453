"""Organisations, users, devices and the short-lived secrets of login."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from owner_server.models._common import UtcDateTime, new_ref, utcnow

__all__ = ["AccessToken", "Device", "EnrolmentCode", "LoginFailure", "LoginNonce", "Outsourcer", "Role", "User"]


class Role(StrEnum):
    """A user's role (see DESIGN.md, actors and roles)."""

    ADMIN = "admin"
    AUDITOR = "auditor"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class Outsourcer(SQLModel, table=True):
    """An outsourced call-center organisation.

    ``per_hour_limit``/``per_day_limit`` tighten the campaign's limits for this
    outsourcer's agents (the lowest applies). ``networks`` is a JSON list of
    CIDR ranges its agents may log in from (empty: anywhere). ``shift_start``/
    ``shift_end`` (``HH:MM``, the campaign's time zone) bound its working hours.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
    per_hour_limit: int | None = None
    per_day_limit: int | None = None
    networks: str = "[]"
    shift_start: str | None = Field(default=None, max_length=5)
    shift_end: str | None = Field(default=None, max_length=5)


class User(SQLModel, table=True):
    """A person who logs in: owner staff, supervisor or agent."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(default_factory=new_ref, unique=True, max_length=32)
    login: str = Field(unique=True, max_length=64)
    role: Role = Field(max_length=16)
    outsourcer_id: int | None = Field(default=None, foreign_key="outsourcer.id")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    password_hash: str = Field(max_length=255)
    suspended: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
    suspended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    suspended_reason: str | None = Field(default=None, max_length=200)
    #: Set after repeated failed logins; no login succeeds before it.
    locked_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    #: The agent's own phone as the owner's PBX names it (``PJSIP/1001``); rung first for every call.
    phone_endpoint: str | None = Field(default=None, max_length=80)
    #: Console users: the TOTP secret (RFC 6238), AES-GCM under the KEK; None until enrolled.
    totp_secret: bytes | None = None
    totp_enrolled_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    #: The last TOTP time step accepted: a code is never accepted twice (RFC 6238, section 5.2).
    totp_last_step: int | None = None


class EnrolmentCode(SQLModel, table=True):
    """A one-time code that binds the agent's first device; stored hashed."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    code_hash: str = Field(unique=True, max_length=64)
    expires_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))


class Device(SQLModel, table=True):
    """An agent's enrolled device: the Ed25519 public key that proves logins."""

    id: str = Field(default_factory=new_ref, primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    public_key: bytes
    name: str = Field(max_length=64)
    revoked: bool = False
    enrolled_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))


class LoginNonce(SQLModel, table=True):
    """A single-use login challenge for one device."""

    nonce: str = Field(primary_key=True, max_length=64)
    device_id: str = Field(foreign_key="device.id", index=True)
    expires_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    used: bool = False


class AccessToken(SQLModel, table=True):
    """A bearer token, stored as its SHA-256 so a database copy holds no token."""

    __table_args__ = (Index("ix_accesstoken_expires", "expires_at"),)  # live tokens now (audit/live.py)

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    device_id: str = Field(foreign_key="device.id")
    session_id: str = Field(default_factory=new_ref, max_length=32, index=True)
    expires_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    revoked: bool = False
    #: The client's IP address at login (as the server saw it).
    address: str = Field(default="", max_length=64)
    created_at: datetime | None = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=True))


class LoginFailure(SQLModel, table=True):
    """One failed login of a known user, for the lock-out window."""

    __table_args__ = (Index("ix_loginfailure_user_at", "user_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime, nullable=False))
