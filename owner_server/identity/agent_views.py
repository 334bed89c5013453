"""Reading agents: the list with filters and one agent's detail, scoped to an organisation when asked.

HTTP-free; the CLI's ``agent list`` and the console's agent pages show
these views. Nothing here is personal data of customers: logins,
organisations, device names and times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, func, select

from owner_server.audit.live import working_user_ids
from owner_server.identity.outsourcers import get_outsourcer
from owner_server.models import AccessToken, Campaign, Device, Outsourcer, Role, User
from owner_server.models._common import utcnow
from shared.errors import NotFoundError

#: How many of an agent's latest tokens are read for its devices' last logins.
_RECENT_TOKENS = 500

__all__ = ["AgentDetail", "AgentStatus", "AgentView", "DeviceView", "agent_detail", "get_agent", "list_agents"]


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
        working: Working now: an open lease or a live access token (see :mod:`owner_server.audit.live`).
        holding: Holding a record now (an open, unexpired lease).
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
    working: bool = False
    holding: bool = False


class AgentStatus(StrEnum):
    """A filter of :func:`list_agents`."""

    WORKING = "working"
    SUSPENDED = "suspended"
    LOCKED = "locked"


def get_agent(session: Session, *, login: str, outsourcer_id: int | None = None) -> User:
    """Find an agent by login.

    Args:
        session: The transaction.
        login: The agent's login.
        outsourcer_id: Only an agent of this organisation (a supervisor's); any when None.

    Raises:
        NotFoundError: No agent with this login (owner users are not agents), or of another organisation.
    """
    query = select(User).where(User.login == login, User.role == Role.AGENT)
    if outsourcer_id is not None:
        query = query.where(User.outsourcer_id == outsourcer_id)
    user = session.exec(query).first()
    if user is None:
        raise NotFoundError(f"agent '{login}' not found")
    return user


def list_agents(
    session: Session,
    *,
    outsourcer: str | None = None,
    outsourcer_id: int | None = None,
    status: AgentStatus | None = None,
    login_contains: str | None = None,
    now: datetime | None = None,
) -> list[AgentView]:
    """Every agent (of one outsourcer, when named or given by id), by login.

    Args:
        session: A read transaction.
        outsourcer: Only this organisation's agents, by name.
        outsourcer_id: Only this organisation's agents, by id (a supervisor's scope); both may be given.
        status: Only agents working now, suspended, or locked out now.
        login_contains: Only logins containing this text (case-insensitive).
        now: The time (UTC); the clock when None.

    Raises:
        NotFoundError: The named outsourcer does not exist.
    """
    now = now or utcnow()
    query = select(User).where(User.role == Role.AGENT).order_by(col(User.login))
    if outsourcer is not None:
        query = query.where(User.outsourcer_id == get_outsourcer(session, name=outsourcer).id)
    if outsourcer_id is not None:
        query = query.where(User.outsourcer_id == outsourcer_id)
    if login_contains:
        query = query.where(func.lower(col(User.login)).contains(login_contains.lower(), autoescape=True))
    if status is AgentStatus.SUSPENDED:
        query = query.where(col(User.suspended).is_(True))
    elif status is AgentStatus.LOCKED:
        query = query.where(col(User.locked_until) > now)
    working, holding = working_user_ids(session, now=now, outsourcer_id=outsourcer_id)
    users = [u for u in session.exec(query).all() if status is not AgentStatus.WORKING or u.id in working]
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
            working=u.id in working,
            holding=u.id in holding,
        )
        for u in users
    ]


@dataclass(frozen=True, slots=True)
class DeviceView:
    """One enrolled device of an agent.

    Attributes:
        ref: The device id (first characters are enough to tell them apart).
        name: The name the client gave at enrolment.
        enrolled_at: When it was enrolled (UTC).
        revoked: Whether it was revoked.
        last_login: Its latest login (UTC), None if never.
        last_address: The address of that login.
    """

    ref: str
    name: str
    enrolled_at: datetime
    revoked: bool
    last_login: datetime | None
    last_address: str


@dataclass(frozen=True, slots=True)
class AgentDetail:
    """An agent's page: its list row, its user id (for activity queries) and its devices, newest first."""

    agent: AgentView
    user_id: int
    devices: list[DeviceView]


def agent_detail(
    session: Session, *, login: str, outsourcer_id: int | None = None, now: datetime | None = None
) -> AgentDetail:
    """One agent with its devices and their latest logins.

    Args:
        session: A read transaction.
        login: The agent's login.
        outsourcer_id: Only an agent of this organisation (a supervisor's); any when None.
        now: The time (UTC); the clock when None.

    Raises:
        NotFoundError: No such agent (in that organisation).
    """
    user = get_agent(session, login=login, outsourcer_id=outsourcer_id)
    assert user.id is not None
    view = next(v for v in list_agents(session, outsourcer_id=user.outsourcer_id, now=now) if v.login == login)
    logins: dict[str, tuple[datetime | None, str]] = {}
    tokens = select(AccessToken.device_id, AccessToken.created_at, AccessToken.address).where(
        AccessToken.user_id == user.id
    )
    newest = tokens.order_by(col(AccessToken.created_at).desc()).limit(_RECENT_TOKENS)
    for device_id, created, address in session.exec(newest).all():
        logins.setdefault(device_id, (created, address))
    devices = session.exec(
        select(Device).where(Device.user_id == user.id).order_by(col(Device.enrolled_at).desc())
    ).all()
    return AgentDetail(
        agent=view,
        user_id=user.id,
        devices=[
            DeviceView(
                ref=d.id,
                name=d.name,
                enrolled_at=d.enrolled_at,
                revoked=d.revoked,
                last_login=logins.get(d.id, (None, ""))[0],
                last_address=logins.get(d.id, (None, ""))[1],
            )
            for d in devices
        ],
    )
