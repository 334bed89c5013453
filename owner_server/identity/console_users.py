"""Console users (admins, auditors, supervisors): supervisors, lost TOTP devices, suspension, passwords.

HTTP-free, keyword-only and audited in the caller's transaction, so the CLI
and the console call the same functions. Suspending a console user, giving
it a new password or clearing its TOTP ends its console sessions at once.
(Agents have their own: :mod:`owner_server.identity.agents`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, delete, select

from owner_server.audit import log as audit
from owner_server.identity import recovery_codes, totp
from owner_server.identity.admin import create_user
from owner_server.identity.console_sessions import CONSOLE_ROLES, end_user_console_sessions
from owner_server.identity.outsourcers import get_outsourcer
from owner_server.identity.password_reset import replace_password
from owner_server.identity.passwords import generate_password
from owner_server.models import RecoveryCode, Role, User
from owner_server.models._common import utcnow
from owner_server.vault.keys import KeyService
from shared.errors import AuthError, ConflictError, NotFoundError, ValidationError

__all__ = [
    "NewConsoleUser",
    "add_supervisor",
    "get_console_user",
    "renew_recovery_codes",
    "reset_console_password",
    "reset_totp",
    "set_suspended",
]

_REASON_CHARS = 200


@dataclass(frozen=True, slots=True)
class NewConsoleUser:
    """A created console user and its password (shown once when generated)."""

    user: User
    password: str
    password_generated: bool


def get_console_user(session: Session, *, login: str) -> User:
    """Find an admin, auditor or supervisor by login.

    Raises:
        NotFoundError: No console user with this login (agents are not console users).
    """
    user = session.exec(select(User).where(User.login == login)).first()
    if user is None or user.role not in CONSOLE_ROLES:
        raise NotFoundError(f"console user '{login}' not found")
    return user


def add_supervisor(
    session: Session, *, login: str, outsourcer: str, password: str | None, actor: str
) -> NewConsoleUser:
    """Create an outsourcer supervisor (console role ``supervisor`` of that organisation).

    Args:
        session: Open transaction.
        login: The supervisor's login.
        outsourcer: Its organisation's name.
        password: The password, or None to generate one.
        actor: Who acts.

    Raises:
        NotFoundError: Unknown outsourcer.
        ConflictError: The login is taken.
        ValidationError: Bad login or too short password.
    """
    org = get_outsourcer(session, name=outsourcer)
    generated = password is None
    password = generate_password() if password is None else password
    user = create_user(session, login=login, role=Role.SUPERVISOR, password=password, actor=actor, outsourcer_id=org.id)
    return NewConsoleUser(user, password, generated)


def reset_totp(session: Session, *, login: str, actor: str) -> int:
    """Forget a console user's TOTP (lost device): secret and recovery codes cleared, sessions ended.

    The next login enrols a new device.

    Returns:
        How many console sessions were ended.

    Raises:
        NotFoundError: No console user with this login.
    """
    user = get_console_user(session, login=login)
    assert user.id is not None
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    session.add(user)
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))
    ended = end_user_console_sessions(session, user_id=user.id, reason="totp_reset")
    audit.append(
        session, actor=actor, action="totp_reset", object_type="user", object_id=user.ref, details={"sessions": ended}
    )
    return ended


def set_suspended(session: Session, *, login: str, suspended: bool, reason: str, actor: str) -> int:
    """Suspend (or reinstate) a console user; suspending ends its console sessions.

    Returns:
        How many console sessions were ended.

    Raises:
        NotFoundError: No console user with this login.
        ValidationError: Suspending without a 1-200 character reason.
        ConflictError: Already in that state.
    """
    reason = " ".join(reason.split())
    if suspended and not 1 <= len(reason) <= _REASON_CHARS:
        raise ValidationError(f"a reason is 1-{_REASON_CHARS} characters")
    user = get_console_user(session, login=login)
    assert user.id is not None
    if user.suspended == suspended:
        raise ConflictError(f"'{login}' is already {'suspended' if suspended else 'active'}")
    user.suspended = suspended
    session.add(user)
    ended = end_user_console_sessions(session, user_id=user.id, reason="suspended") if suspended else 0
    details: dict[str, audit.Detail] = {"sessions": ended}
    if suspended:
        details["reason"] = reason
    action = "console_user_suspended" if suspended else "console_user_reinstated"
    audit.append(session, actor=actor, action=action, object_type="user", object_id=user.ref, details=details)
    return ended


def reset_console_password(session: Session, *, login: str, password: str | None, actor: str) -> str:
    """Give a console user a new password: a lock-out is lifted and its console sessions end.

    Returns:
        The new password (shown once when generated).

    Raises:
        NotFoundError: No console user with this login.
        ValidationError: A given password shorter than 12 or longer than the limit.
    """
    user = get_console_user(session, login=login)
    password, generated = replace_password(session, user=user, password=password)
    assert user.id is not None
    ended = end_user_console_sessions(session, user_id=user.id, reason="password_reset")
    audit.append(
        session,
        actor=actor,
        action="password_reset",
        object_type="user",
        object_id=user.ref,
        details={"generated": generated, "sessions": ended},
    )
    return password


def renew_recovery_codes(
    session: Session, *, keys: KeyService, user_id: int, code: str, actor: str, now: datetime | None = None
) -> list[str]:
    """Replace a user's recovery codes, proven by a current TOTP code (audited ``recovery_codes_renewed``).

    Returns:
        The new codes (shown once).

    Raises:
        AuthError: The code is wrong or was already used (nothing changes).
    """
    now = now or utcnow()
    user = session.exec(select(User).where(User.id == user_id).with_for_update()).one()
    secret = totp.load_secret(session, keys=keys, user=user) if user.totp_enrolled_at else None
    step = totp.accepted_step(secret, code, now=now, last_step=user.totp_last_step) if secret else None
    if step is None:
        raise AuthError("that code is not right; type the code your authenticator app shows now")
    user.totp_last_step = step
    session.add(user)
    codes = recovery_codes.new_recovery_codes(session, user_id=user_id)
    audit.append(
        session,
        actor=actor,
        action="recovery_codes_renewed",
        object_type="user",
        object_id=user.ref,
        details={"recovery_codes": len(codes)},
    )
    return codes
