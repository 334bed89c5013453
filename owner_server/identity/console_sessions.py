"""Owner console sessions: the cookie token, its CSRF token, the idle timeout and logout everywhere.

A console session is created when the password was right (stage
``password``) and becomes ``active`` once the second factor (TOTP, RFC 6238)
is right; the token is replaced at that step so a token seen before login is
worth nothing after it (OWASP Session Management Cheat Sheet, "renew the
session ID after any privilege level change"). Only SHA-256 of the token is
stored. Sessions end after :data:`IDLE_TIMEOUT` without a request, and
:data:`MAX_LIFETIME` after login however active.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select, update

from owner_server.identity.sessions import token_hash
from owner_server.models import ConsoleSession, ConsoleStage, Outsourcer, Role, User
from owner_server.models._common import utcnow

__all__ = [
    "IDLE_TIMEOUT",
    "MAX_LIFETIME",
    "ConsolePrincipal",
    "NewConsoleSession",
    "end_console_session",
    "end_user_console_sessions",
    "promote_console_session",
    "resolve_console_session",
    "start_console_session",
]

#: Idle timeout of a console session (issue 8: 15 minutes).
IDLE_TIMEOUT = timedelta(minutes=15)
#: The longest a console session lasts, however active (a stolen cookie used now and then still dies).
MAX_LIFETIME = timedelta(hours=12)
#: A login still at the password stage must finish its second factor within this.
SECOND_FACTOR_TIMEOUT = timedelta(minutes=5)
#: Console roles (agents never log in to the console).
CONSOLE_ROLES = frozenset({Role.ADMIN, Role.AUDITOR, Role.SUPERVISOR})


@dataclass(frozen=True, slots=True)
class ConsolePrincipal:
    """Who a console request is from.

    Attributes:
        session_id: The console session's row id.
        user_id: The user's id.
        user_ref: The user's public reference (audit object id).
        login: The user's login.
        role: ``admin``, ``auditor`` or ``supervisor``.
        outsourcer_id: A supervisor's organisation (None for owner staff).
        outsourcer: That organisation's name.
        csrf_token: The synchronizer token unsafe requests must echo.
        stage: ``password`` (second factor due) or ``active``.
        totp_enrolled: Whether the user has a TOTP secret.
    """

    session_id: int
    user_id: int
    user_ref: str
    login: str
    role: Role
    outsourcer_id: int | None
    outsourcer: str | None
    csrf_token: str
    stage: ConsoleStage
    totp_enrolled: bool

    @property
    def actor(self) -> str:
        """The audit actor of this user's actions (``admin:anna``, ``supervisor:jan``)."""
        return f"{self.role.value}:{self.login}"


@dataclass(frozen=True, slots=True)
class NewConsoleSession:
    """A session just made: the cookie value (shown once) and its row."""

    token: str
    row: ConsoleSession


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def start_console_session(
    session: Session, *, user: User, address: str, stage: ConsoleStage, now: datetime | None = None
) -> NewConsoleSession:
    """Create a console session for ``user`` at ``stage``.

    Args:
        session: The open transaction.
        user: A console user (admin, auditor or supervisor).
        address: The browser's IP address.
        stage: Usually ``password``; tests make ``active`` ones directly.
        now: The current time (UTC).

    Returns:
        The token for the cookie and the stored row.

    Raises:
        ValueError: ``user`` is not a console user (a programming error; routes check first).
    """
    if user.role not in CONSOLE_ROLES or user.id is None:
        raise ValueError("only admins, auditors and supervisors have console sessions")
    now = now or utcnow()
    token = _new_token()
    row = ConsoleSession(
        token_hash=token_hash(token),
        user_id=user.id,
        stage=stage,
        csrf_token=secrets.token_urlsafe(32),
        address=address[:64],
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return NewConsoleSession(token=token, row=row)


def promote_console_session(session: Session, *, row: ConsoleSession, now: datetime | None = None) -> str:
    """Mark a login fully authenticated and replace its token and CSRF token.

    Returns:
        The new cookie token (the old one no longer resolves).
    """
    now = now or utcnow()
    token = _new_token()
    row.token_hash = token_hash(token)
    row.csrf_token = secrets.token_urlsafe(32)
    row.stage = ConsoleStage.ACTIVE
    row.last_seen_at = now
    session.add(row)
    session.flush()
    return token


def _expired(row: ConsoleSession, now: datetime) -> str | None:
    if row.stage is ConsoleStage.PASSWORD and now - row.created_at > SECOND_FACTOR_TIMEOUT:
        return "second_factor_timeout"
    if now - row.last_seen_at > IDLE_TIMEOUT:
        return "idle"
    if now - row.created_at > MAX_LIFETIME:
        return "max_length"
    return None


def resolve_console_session(
    session: Session, *, token: str, now: datetime | None = None, touch: bool = True
) -> tuple[ConsoleSession, ConsolePrincipal] | None:
    """The live session a cookie token names, or None (unknown, ended, idle, user suspended or not a console user).

    An idle or suspended session found here is ended (with its reason) in
    this transaction. ``touch`` moves ``last_seen_at`` to ``now``; live
    updates that the browser polls by itself pass False so that a page left
    open still times out.
    """
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    row = session.exec(select(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token))).first()
    if row is None or row.ended_at is not None:
        return None
    user = session.get(User, row.user_id)
    reason = "suspended" if user is None or user.suspended or user.role not in CONSOLE_ROLES else _expired(row, now)
    if reason is not None:
        end_console_session(session, row=row, reason=reason, now=now)
        return None
    assert user is not None and row.id is not None and user.id is not None
    if touch:
        row.last_seen_at = now
        session.add(row)
    org = session.get(Outsourcer, user.outsourcer_id) if user.outsourcer_id is not None else None
    principal = ConsolePrincipal(
        session_id=row.id,
        user_id=user.id,
        user_ref=user.ref,
        login=user.login,
        role=user.role,
        outsourcer_id=user.outsourcer_id,
        outsourcer=org.name if org is not None else None,
        csrf_token=row.csrf_token,
        stage=row.stage,
        totp_enrolled=user.totp_enrolled_at is not None,
    )
    return row, principal


def end_console_session(session: Session, *, row: ConsoleSession, reason: str, now: datetime | None = None) -> None:
    """End one console session (logout, idle, ...)."""
    row.ended_at = now or utcnow()
    row.end_reason = reason[:32]
    session.add(row)
    session.flush()


def end_user_console_sessions(session: Session, *, user_id: int, reason: str, now: datetime | None = None) -> int:
    """End every live console session of a user (logout everywhere, suspension, password reset).

    Returns:
        How many sessions were ended.
    """
    result = session.exec(
        update(ConsoleSession)
        .where(col(ConsoleSession.user_id) == user_id, col(ConsoleSession.ended_at).is_(None))
        .values(ended_at=now or utcnow(), end_reason=reason[:32])
    )
    return int(result.rowcount or 0)
