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

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, func, select, update

from owner_server.audit import log as audit
from owner_server.identity.admin import hash_code, new_enrolment_code
from owner_server.identity.outsourcers import get_outsourcer
from owner_server.identity.passwords import generate_password, hash_password
from owner_server.models import AccessToken, Campaign, Device, EnrolmentCode, LoginFailure, Outsourcer, Role, User
from owner_server.models._common import utcnow
from owner_server.work.suspension import reinstate_agent, revoke_tokens, suspend_agent
from shared.errors import ConflictError, NotFoundError, ValidationError
from shared.limits import LIMITS

__all__ = [
    "AgentView",
    "get_agent",
    "issue_enrolment_code",
    "list_agents",
    "reinstate",
    "reset_password",
    "revoke_devices",
    "suspend",
]

_REASON_CHARS = 200


@dataclass(frozen=True, slots=True)
class AgentView:
    """One agent as ``agent list`` shows it.

    Attributes:
        login: The agent's login.
        outsourcer: Its outsourcer's name ("" if none).
        campaign: Its campaign's name ("" if none).
        suspended: Whether it is suspended.
        suspended_reason: Why (a rule name or the admin's words), when suspended.
        suspended_at: When it was suspended.
        locked_until: When a lock-out after failed logins ends (None: not locked now).
        devices: Enrolled devices that are not revoked.
        last_login: The latest successful login (None: never).
        phone: The agent's own phone endpoint (``agent set-phone``), "" if none.
    """

    login: str
    outsourcer: str
    campaign: str
    suspended: bool
    suspended_reason: str | None
    suspended_at: datetime | None
    locked_until: datetime | None
    devices: int
    last_login: datetime | None
    phone: str = ""


def get_agent(session: Session, *, login: str) -> User:
    """Find an agent by login.

    Raises:
        NotFoundError: No agent with this login (owner users are not agents).
    """
    user = session.exec(select(User).where(User.login == login, User.role == Role.AGENT)).first()
    if user is None:
        raise NotFoundError(f"agent '{login}' not found")
    return user


def list_agents(session: Session, *, outsourcer: str | None = None, now: datetime | None = None) -> list[AgentView]:
    """Every agent (of one outsourcer, when named), by login.

    Raises:
        NotFoundError: The named outsourcer does not exist.
    """
    now = now or utcnow()
    query = select(User).where(User.role == Role.AGENT).order_by(col(User.login))
    if outsourcer is not None:
        query = query.where(User.outsourcer_id == get_outsourcer(session, name=outsourcer).id)
    users = session.exec(query).all()
    orgs = {o.id: o.name for o in session.exec(select(Outsourcer)).all()}
    campaigns = {c.id: c.name for c in session.exec(select(Campaign)).all()}
    devices = dict(
        session.exec(
            select(Device.user_id, func.count()).where(col(Device.revoked).is_(False)).group_by(col(Device.user_id))
        ).all()
    )
    last = dict(
        session.exec(
            select(AccessToken.user_id, func.max(AccessToken.created_at)).group_by(col(AccessToken.user_id))
        ).all()
    )
    return [
        AgentView(
            login=u.login,
            outsourcer=orgs.get(u.outsourcer_id, ""),
            campaign=campaigns.get(u.campaign_id, ""),
            suspended=u.suspended,
            suspended_reason=u.suspended_reason if u.suspended else None,
            suspended_at=u.suspended_at if u.suspended else None,
            locked_until=u.locked_until if u.locked_until is not None and u.locked_until > now else None,
            devices=int(devices.get(u.id or 0, 0)),
            last_login=last.get(u.id or 0),
            phone=u.phone_endpoint or "",
        )
        for u in users
    ]


def suspend(session: Session, *, login: str, reason: str, actor: str) -> User:
    """Suspend an agent by hand: its open lease is closed and every token revoked at once.

    Args:
        session: Open transaction.
        login: The agent.
        reason: Why, 1-200 characters (recorded in the audit log; no personal data).
        actor: Who acts.

    Raises:
        NotFoundError: No such agent.
        ValidationError: Empty or too long reason.
        ConflictError: The agent is already suspended.
    """
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= _REASON_CHARS:
        raise ValidationError(f"a reason is 1-{_REASON_CHARS} characters")
    user = get_agent(session, login=login)
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
    codes = session.execute(
        update(EnrolmentCode)
        .where(col(EnrolmentCode.user_id) == user.id, col(EnrolmentCode.used_at).is_(None))
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
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
            "codes_voided": int(codes.rowcount or 0),  # type: ignore[attr-defined]
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
    generated = password is None
    password = generate_password() if password is None else password
    if not 12 <= len(password) <= LIMITS.max_password_chars:
        raise ValidationError(f"a password has 12-{LIMITS.max_password_chars} characters")
    user = get_agent(session, login=login)
    assert user.id is not None
    user.password_hash = hash_password(password)
    user.locked_until = None
    session.add(user)
    session.execute(delete(LoginFailure).where(col(LoginFailure.user_id) == user.id))
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
