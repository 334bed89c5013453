"""Agent administration: list, suspend, reinstate, re-enrol and reset passwords.

The owner's answers about agents (who they are, whether they may work) and
the actions that stop one. HTTP-free and audited in the caller's transaction,
so the CLI today and the console later call the same functions. One-time
secrets (a password, an enrolment code) are returned once and stored only
hashed.

Suspension itself (lease closed, tokens revoked) is
:mod:`owner_server.work.suspension`, shared with the anomaly rules.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, update

from owner_server.audit import log as audit
from owner_server.identity.admin import hash_code, new_enrolment_code
from owner_server.identity.agent_views import (
    AgentDetail,
    AgentStatus,
    AgentView,
    DeviceView,
    agent_detail,
    get_agent,
    list_agents,
)
from owner_server.identity.password_reset import replace_password
from owner_server.models import Device, EnrolmentCode, User
from owner_server.models._common import utcnow
from owner_server.work.suspension import reinstate_agent, revoke_tokens, suspend_agent
from shared.errors import ConflictError, ValidationError
from shared.limits import LIMITS

__all__ = [
    "AgentDetail",
    "AgentStatus",
    "AgentView",
    "DeviceView",
    "agent_detail",
    "give_enrolment_code",
    "get_agent",
    "issue_enrolment_code",
    "list_agents",
    "reinstate",
    "reset_password",
    "revoke_devices",
    "suspend",
]

_REASON_CHARS = 200


def suspend(session: Session, *, login: str, reason: str, actor: str, outsourcer_id: int | None = None) -> User:
    """Suspend an agent by hand: its open lease is closed and every token revoked at once.

    Args:
        session: Open transaction.
        login: The agent.
        reason: Why, 1-200 characters (recorded in the audit log; no personal data).
        actor: Who acts.
        outsourcer_id: Only an agent of this organisation (a supervisor's); any when None.

    Raises:
        NotFoundError: No such agent (in that organisation).
        ValidationError: Empty or too long reason.
        ConflictError: The agent is already suspended.
    """
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= _REASON_CHARS:
        raise ValidationError(f"a reason is 1-{_REASON_CHARS} characters")
    user = get_agent(session, login=login, outsourcer_id=outsourcer_id)
    if user.suspended:
        raise ConflictError(f"agent '{login}' is already suspended")
    suspend_agent(session, user=user, reason=reason, actor=actor)
    return user


def reinstate(session: Session, *, login: str, actor: str) -> User:
    """Lift an agent's suspension; it logs in again (its tokens stay revoked).

    Raises:
        NotFoundError: No such agent.
        ConflictError: The agent is not suspended.
    """
    user = get_agent(session, login=login)
    reinstate_agent(session, user=user, actor=actor)
    return user


def give_enrolment_code(session: Session, *, login: str, actor: str) -> str:
    """Give an agent a new one-time enrolment code (another device), audited; older unused codes stop working.

    Its enrolled devices stay enrolled (see :func:`revoke_devices` to take them away).

    Returns:
        The code (shown once; only its hash is stored).

    Raises:
        NotFoundError: No such agent.
    """
    user = get_agent(session, login=login)
    now = utcnow()
    voided = _void_unused_codes(session, user=user, now=now)
    code = issue_enrolment_code(session, user=user, now=now)
    audit.append(
        session,
        actor=actor,
        action="enrolment_code_issued",
        object_type="user",
        object_id=user.ref,
        details={"codes_voided": voided},
    )
    return code


def _void_unused_codes(session: Session, *, user: User, now: datetime) -> int:
    """Expire the agent's unused enrolment codes now; how many there were."""
    voided = session.execute(
        update(EnrolmentCode)
        .where(col(EnrolmentCode.user_id) == user.id, col(EnrolmentCode.used_at).is_(None))
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(voided.rowcount or 0)  # type: ignore[attr-defined]


def issue_enrolment_code(session: Session, *, user: User, now: datetime | None = None) -> str:
    """Make a one-time enrolment code for an agent (stored hashed) and return it, once."""
    assert user.id is not None
    code = new_enrolment_code()
    now = now or utcnow()
    session.add(
        EnrolmentCode(
            user_id=user.id, code_hash=hash_code(code), expires_at=now + timedelta(seconds=LIMITS.enrolment_code_ttl_s)
        )
    )
    return code


def revoke_devices(session: Session, *, login: str, actor: str) -> str:
    """Revoke every device and token of an agent and give it a new one-time enrolment code.

    Unused older codes stop working too, so the new code is the only way in.

    Returns:
        The new enrolment code (shown once; only its hash is stored).

    Raises:
        NotFoundError: No such agent.
    """
    user = get_agent(session, login=login)
    now = utcnow()
    devices = session.execute(
        update(Device)
        .where(col(Device.user_id) == user.id, col(Device.revoked).is_(False))
        .values(revoked=True)
        .execution_options(synchronize_session=False)
    )
    codes = _void_unused_codes(session, user=user, now=now)
    assert user.id is not None
    tokens = revoke_tokens(session, user_id=user.id)
    code = issue_enrolment_code(session, user=user, now=now)
    audit.append(
        session,
        actor=actor,
        action="devices_revoked",
        object_type="user",
        object_id=user.ref,
        details={
            "devices_revoked": int(devices.rowcount or 0),  # type: ignore[attr-defined]
            "codes_voided": codes,
            "tokens_revoked": tokens,
        },
    )
    return code


def reset_password(session: Session, *, login: str, password: str | None, actor: str) -> str:
    """Give an agent a new password; its tokens are revoked and a lock-out is lifted.

    Args:
        session: Open transaction.
        login: The agent.
        password: The new password, or None to generate one.
        actor: Who acts.

    Returns:
        The new password (shown once when generated; only its hash is stored).

    Raises:
        NotFoundError: No such agent.
        ValidationError: A given password shorter than 12 or longer than the limit.
    """
    user = get_agent(session, login=login)
    password, generated = replace_password(session, user=user, password=password)
    assert user.id is not None
    tokens = revoke_tokens(session, user_id=user.id)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="password_reset",
        object_type="user",
        object_id=user.ref,
        details={"generated": generated, "tokens_revoked": tokens},
    )
    return password
