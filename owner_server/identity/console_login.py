"""Logging in to the owner console: password (Argon2id), then TOTP (RFC 6238) or a recovery code.

The password step has one answer for every failure (unknown login, wrong
password, an agent's account, suspended, locked): no user enumeration, and
an unknown login costs the same Argon2id work as a known one. Wrong
passwords and wrong second factors count towards the lock-out the agent
client has too (:mod:`owner_server.identity.lockout`). A right password
starts a console session at stage ``password``; the second factor (or, on
the first login, TOTP enrolment) promotes it with a new token
(:func:`~owner_server.identity.console_sessions.promote_console_session`).
:data:`FACTOR_TRIES` wrong codes end that login. Every step is audited;
details hold reason codes and counts, never a password or a code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from owner_server.audit import log as audit
from owner_server.identity import lockout, recovery_codes, totp
from owner_server.identity.console_sessions import (
    CONSOLE_ROLES,
    end_console_session,
    promote_console_session,
    start_console_session,
)
from owner_server.identity.passwords import verify_dummy, verify_password
from owner_server.models import ConsoleSession, ConsoleStage, User
from owner_server.models._common import utcnow
from owner_server.vault.keys import KeyService
from shared.limits import LIMITS

__all__ = [
    "FACTOR_TRIES",
    "Enrolment",
    "FactorResult",
    "check_password",
    "confirm_enrolment",
    "enrolment",
    "second_factor",
]

#: Wrong second factors that end one login.
FACTOR_TRIES = 5


def _actor(user: User) -> str:
    return f"{user.role.value}:{user.login}"


def _refuse(session: Session, *, user: User | None, reason: str, address: str) -> None:
    audit.append(
        session,
        actor=_actor(user) if user is not None else "system:console",
        action="console_login_failed",
        object_type="user",
        object_id=user.ref if user is not None else "",
        details={"reason": reason, "address": address[:64]},
    )


def check_password(
    session: Session, *, keys: KeyService, login: str, password: str, address: str, now: datetime | None = None
) -> str | None:
    """The password step: start a login at stage ``password`` when login and password are right.

    A user without TOTP gets a fresh pending secret here (encrypted), shown
    by the enrolment page of this login.

    Args:
        session: The request's transaction (it commits whether or not the password was right).
        keys: The key service (the TOTP secret is stored encrypted).
        login: The typed login.
        password: The typed password (never stored, logged or audited).
        address: The browser's address.
        now: The current time (UTC).

    Returns:
        The new session's cookie token, or None for any failure (one answer for all;
        audited ``console_login_failed`` with the reason code, except while locked).
    """
    now = now or utcnow()
    login, password = login.strip()[: LIMITS.max_login_chars], password[: LIMITS.max_password_chars]
    user = session.exec(select(User).where(User.login == login).with_for_update()).first() if login else None
    if user is None:
        verify_dummy(password)
        _refuse(session, user=None, reason="unknown_login", address=address)
        return None
    password_ok = verify_password(user.password_hash, password)
    if lockout.is_locked(user, now):
        return None  # not audited one by one (lockout.record_failure: no unbounded growth)
    if not password_ok:
        _failed(session, user=user, now=now, address=address, reason="wrong_password")
        return None
    if user.role not in CONSOLE_ROLES or user.suspended:
        _refuse(session, user=user, reason="suspended" if user.suspended else "not_console_user", address=address)
        return None
    if user.totp_enrolled_at is None:
        totp.store_secret(session, keys=keys, user=user, secret=totp.new_secret())
    return start_console_session(session, user=user, address=address, stage=ConsoleStage.PASSWORD, now=now).token


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the enrolment page shows: the secret as text, the ``otpauth://`` URI and its QR code (SVG)."""

    secret_text: str
    uri: str
    qr_svg: str


def enrolment(session: Session, *, keys: KeyService, user_id: int, issuer: str) -> Enrolment | None:
    """The pending TOTP secret of a user who has not enrolled yet (None when enrolled or none is pending)."""
    user = session.get(User, user_id)
    if user is None or user.totp_enrolled_at is not None:
        return None
    secret = totp.load_secret(session, keys=keys, user=user)
    if secret is None:
        return None
    uri = totp.provisioning_uri(secret, login=user.login, issuer=issuer)
    return Enrolment(secret_text=totp.base32_text(secret), uri=uri, qr_svg=totp.qr_svg(uri))


@dataclass(frozen=True, slots=True)
class FactorResult:
    """The outcome of a second-factor (or enrolment) form.

    Attributes:
        token: The new cookie token when the login is complete (the old one is void), else None.
        ended: The login was ended (too many wrong codes, or the account is locked).
        tries_left: Wrong codes this login may still take.
        recovery_codes: New recovery codes (enrolment only), shown once.
        recovery_left: Unused recovery codes left when one was just used.
    """

    token: str | None
    ended: bool = False
    tries_left: int = 0
    recovery_codes: tuple[str, ...] = ()
    recovery_left: int | None = None


def _locked_user(session: Session, row: ConsoleSession) -> User:
    return session.exec(select(User).where(User.id == row.user_id).with_for_update()).one()


def _failed(session: Session, *, user: User, now: datetime, address: str, reason: str) -> None:
    """A wrong password or code: counted towards the lock-out, audited ``console_login_failed`` with ``reason``."""
    lockout.record_failure(
        session, user=user, now=now, address=address, actor=_actor(user), action="console_login_failed", reason=reason
    )


def _wrong(session: Session, *, row: ConsoleSession, user: User, address: str, now: datetime) -> FactorResult:
    _failed(session, user=user, now=now, address=address, reason="wrong_second_factor")
    row.factor_failures += 1
    session.add(row)
    if row.factor_failures >= FACTOR_TRIES or lockout.is_locked(user, now):
        end_console_session(session, row=row, reason="second_factor", now=now)
        return FactorResult(token=None, ended=True)
    return FactorResult(token=None, tries_left=FACTOR_TRIES - row.factor_failures)


def _complete(session: Session, *, row: ConsoleSession, user: User, address: str, method: str, now: datetime) -> str:
    lockout.clear_failures(session, user=user)
    token = promote_console_session(session, row=row, now=now)
    audit.append(
        session,
        actor=_actor(user),
        action="console_login",
        object_type="user",
        object_id=user.ref,
        details={"second_factor": method, "address": address[:64], "console_session": row.id},
    )
    return token


def _check_totp(session: Session, *, keys: KeyService, user: User, code: str, now: datetime) -> bool:
    secret = totp.load_secret(session, keys=keys, user=user)
    step = totp.accepted_step(secret, code, now=now, last_step=user.totp_last_step) if secret else None
    if step is None:
        return False
    user.totp_last_step = step
    session.add(user)
    return True


def second_factor(
    session: Session, *, keys: KeyService, row: ConsoleSession, code: str, address: str, now: datetime | None = None
) -> FactorResult:
    """Check the TOTP code or a recovery code of a login at stage ``password`` (an enrolled user).

    Args:
        session: The request's transaction.
        keys: The key service.
        row: The login's console session (stage ``password``).
        code: A 6-digit TOTP code or an unused recovery code.
        address: The browser's address.
        now: The current time (UTC).

    Returns:
        The outcome; a used recovery code is audited ``recovery_code_used`` with how many are left.
    """
    now = now or utcnow()
    user = _locked_user(session, row)
    assert user.id is not None
    if user.totp_enrolled_at is None or lockout.is_locked(user, now):
        end_console_session(session, row=row, reason="second_factor", now=now)
        return FactorResult(token=None, ended=True)
    if _check_totp(session, keys=keys, user=user, code=code, now=now):
        return FactorResult(token=_complete(session, row=row, user=user, address=address, method="totp", now=now))
    left = recovery_codes.use_recovery_code(session, user_id=user.id, code=code, now=now)
    if left is None:
        return _wrong(session, row=row, user=user, address=address, now=now)
    audit.append(
        session,
        actor=_actor(user),
        action="recovery_code_used",
        object_type="user",
        object_id=user.ref,
        details={"left": left},
    )
    token = _complete(session, row=row, user=user, address=address, method="recovery_code", now=now)
    return FactorResult(token=token, recovery_left=left)


def confirm_enrolment(
    session: Session, *, keys: KeyService, row: ConsoleSession, code: str, address: str, now: datetime | None = None
) -> FactorResult:
    """Enrol the pending TOTP secret when ``code`` is right: make recovery codes and complete the login.

    Returns:
        The outcome; on success ``recovery_codes`` holds the new codes (shown once), audited ``totp_enrolled``.
    """
    now = now or utcnow()
    user = _locked_user(session, row)
    assert user.id is not None
    if user.totp_enrolled_at is not None or lockout.is_locked(user, now):
        end_console_session(session, row=row, reason="second_factor", now=now)
        return FactorResult(token=None, ended=True)
    if not _check_totp(session, keys=keys, user=user, code=code, now=now):
        return _wrong(session, row=row, user=user, address=address, now=now)
    user.totp_enrolled_at = now
    session.add(user)
    codes = recovery_codes.new_recovery_codes(session, user_id=user.id)
    audit.append(
        session,
        actor=_actor(user),
        action="totp_enrolled",
        object_type="user",
        object_id=user.ref,
        details={"recovery_codes": len(codes)},
    )
    token = _complete(session, row=row, user=user, address=address, method="totp_enrolment", now=now)
    return FactorResult(token=token, recovery_codes=tuple(codes))
