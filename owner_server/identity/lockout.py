"""Lock-out after repeated failed logins.

``LIMITS.login_failures_max`` failed logins (wrong password or device proof)
of a known account within ``LIMITS.login_failure_window_s`` lock it for
``LIMITS.login_lock_s``: audited ``account_locked`` and alerted
(``login_lockout``). Failures are ``LoginFailure`` rows; those made before a
lock ended do not count towards the next one, so a guesser gets at most that
many tries per lock period. A successful login clears them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, func, select

from owner_server.audit import log as audit
from owner_server.audit.alerts import raise_alert
from owner_server.models import LoginFailure, User
from shared.containment import RuleAction, RuleName
from shared.limits import LIMITS

__all__ = ["clear_failures", "is_locked", "record_failure"]


def is_locked(user: User, now: datetime) -> bool:
    """Whether the account is locked at ``now``."""
    return user.locked_until is not None and user.locked_until > now


def record_failure(
    session: Session,
    *,
    user: User,
    now: datetime,
    address: str,
    actor: str | None = None,
    action: str = "login_failed",
    reason: str | None = None,
) -> bool:
    """Record one failed login of a known account (audited ``login_failed``) and lock it at the limit.

    The agent client and the owner console share these rules: failures of
    either count towards one lock.

    Args:
        session: The login's transaction (committed although the login fails).
        user: The account.
        now: The time of the attempt (UTC).
        address: The client's address.
        actor: The audit actor (``agent:<ref>`` when None).
        action: The audit action (the console writes ``console_login_failed``).
        reason: A reason code added to the audit details (``wrong_password``, ``wrong_second_factor``).

    Returns:
        True when this failure locked the account.
    """
    assert user.id is not None
    if is_locked(user, now):
        # the lock is not extended (its end is what the agent was told), and failures during it are not
        # written one by one: whoever knows a login name could otherwise grow the audit log without end
        return False
    session.add(LoginFailure(user_id=user.id, at=now))
    session.flush()
    details: dict[str, audit.Detail] = {"address": address[:64]}
    if reason is not None:
        details["reason"] = reason
    audit.append(
        session,
        actor=actor or f"agent:{user.ref}",
        action=action,
        object_type="user",
        object_id=user.ref,
        details=details,
    )
    since = now - timedelta(seconds=LIMITS.login_failure_window_s)
    if user.locked_until is not None and user.locked_until > since:
        since = user.locked_until
    failures = session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.user_id == user.id, col(LoginFailure.at) > since)
    ).one()
    if failures < LIMITS.login_failures_max:
        return False
    _lock(session, user=user, now=now, failures=int(failures))
    return True


def _lock(session: Session, *, user: User, now: datetime, failures: int) -> None:
    user.locked_until = now + timedelta(seconds=LIMITS.login_lock_s)
    session.add(user)
    session.flush()
    figures: dict[str, audit.Detail] = {
        "failures": failures,
        "window_s": LIMITS.login_failure_window_s,
        "lock_s": LIMITS.login_lock_s,
        "until": user.locked_until.isoformat(timespec="seconds"),
    }
    audit.append(
        session, actor="system:login", action="account_locked", object_type="user", object_id=user.ref, details=figures
    )
    raise_alert(
        session,
        rule=RuleName.LOGIN_LOCKOUT,
        action=RuleAction.ALERT,
        user=user,
        figures=figures,
        campaign_id=user.campaign_id,
        actor="system:login",
        now=now,
    )


def clear_failures(session: Session, *, user: User) -> None:
    """Forget an account's failed logins and any lock (after a successful login)."""
    session.execute(delete(LoginFailure).where(col(LoginFailure.user_id) == user.id))
    if user.locked_until is not None:
        user.locked_until = None
        session.add(user)
