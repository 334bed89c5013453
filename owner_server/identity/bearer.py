"""Bearer-token checks: one prebuilt statement from the token to its agent, device, outsourcer and campaign.

:func:`authenticate` resolves a token with one Core statement
(:data:`AGENT_BY_TOKEN`, run through :func:`owner_server.work.claim_sql.run`)
returning plain columns: the token's, the device's, the agent's, its
outsourcer's terms and its campaign's (the policy JSON text included, parsed
once per distinct text by :func:`owner_server.work.context.parse_policy`).
Nothing is loaded into the ORM: the :class:`AgentPrincipal` holds those
columns, and the work context is built from them
(:func:`owner_server.work.context.load_context`). A cold path that needs the
agent's ORM row (an alert, a suspension) loads it by :attr:`AgentPrincipal.user_id`.

:func:`confirm` runs the same statement again inside the write transaction
(SQLite: after ``BEGIN IMMEDIATE``, holding the write lock), so whatever
changed since :func:`authenticate` read in its own read transaction (token
revoked or expired, device revoked, agent suspended or moved, outsourcer's
terms or campaign changed or erased) is seen before anything is issued
(:meth:`owner_server.api.state.ServerState.agent_transaction`). On
PostgreSQL :func:`authenticate_locked` does the same after the agent's row
lock, which a request may wait for while such a change commits. No token,
hash or part of one is logged or put in an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, select
from sqlmodel import Session

from owner_server.core.db import begin_write
from owner_server.core.deferred import DeferredError
from owner_server.core.pinned import PinnedSession
from owner_server.core.txn_memo import AGENT_CONFIRMED, remember
from owner_server.identity.login_rules import alert_outside_network
from owner_server.identity.outsourcers import address_allowed
from owner_server.identity.sessions import token_hash
from owner_server.models import AccessToken, Campaign, Device, Outsourcer, User
from owner_server.models._common import table_of, utcnow
from owner_server.work import claim_sql
from shared.errors import AuthError, ErrorCode, ForbiddenError

__all__ = [
    "AGENT_BY_TOKEN",
    "AGENT_BY_TOKEN_LOCKED",
    "TOKEN_GATE",
    "AgentCampaign",
    "AgentOutsourcer",
    "AgentPrincipal",
    "authenticate",
    "authenticate_locked",
    "confirm",
    "principal_for",
    "refuse_unusable",
]

_OUTSIDE = "this computer's address is outside the networks your organisation may work from"

_TOKEN = table_of(AccessToken)
_DEVICE = table_of(Device)
_USER = table_of(User)
_OUTSOURCER = table_of(Outsourcer)
_CAMPAIGN = table_of(Campaign)


def _named(table: Table, *names: str) -> list[ColumnElement[Any]]:
    """``table``'s columns by name, in that order; ``"id AS device_id"`` labels one (a name the joined tables share)."""
    columns: list[ColumnElement[Any]] = []
    for name in names:
        column, _, label = name.partition(" AS ")
        columns.append(table.c[column].label(label) if label else table.c[column])
    return columns


#: The columns of :data:`AGENT_BY_TOKEN` and :data:`AGENT_BY_TOKEN_LOCKED`, in the order :func:`_principal` unpacks.
_COLUMNS = (
    *_named(_TOKEN, "revoked", "expires_at", "session_id", "address"),
    *_named(_DEVICE, "id AS device_id", "revoked AS device_revoked"),
    *_named(_USER, "id AS user_id", "ref AS user_ref", "suspended"),
    *_named(_OUTSOURCER, "id AS outsourcer_id", "per_hour_limit", "per_day_limit"),
    *_named(_OUTSOURCER, "networks", "shift_start", "shift_end"),
    *_named(_CAMPAIGN, "id AS campaign_id", "name AS campaign_name", "policy_json", "erased_at"),
)


def _by_token(*, locked: bool) -> Any:
    """The token's row joined to its agent, device, outsourcer and campaign (``locked``: the agent's row locked)."""
    stmt = (
        select(*_COLUMNS)
        .select_from(_TOKEN)
        .join(_USER, _USER.c.id == _TOKEN.c.user_id, isouter=not locked)
        .outerjoin(_DEVICE, _DEVICE.c.id == _TOKEN.c.device_id)
        .outerjoin(_OUTSOURCER, _OUTSOURCER.c.id == _USER.c.outsourcer_id)
        .outerjoin(_CAMPAIGN, _CAMPAIGN.c.id == _USER.c.campaign_id)
        .where(_TOKEN.c.token_hash == bindparam("b_token_hash"))
    )
    return stmt.with_for_update(of=_USER, key_share=True) if locked else stmt


#: One row per token (its hash ``b_token_hash``), in the order :func:`_principal` unpacks: the token's columns, the
#: device's, the agent's, its outsourcer's terms and its campaign's (NULLs where the join found nothing).
AGENT_BY_TOKEN = _by_token(locked=False)
#: PostgreSQL: the same columns, the agent's row locked ``FOR NO KEY UPDATE OF`` it (the lock
#: :func:`~owner_server.work.suspension.lock_agent` takes), an inner join to the agent (PostgreSQL locks no row on
#: the nullable side of an outer join). After a wait for that lock only the agent's columns are re-read
#: (READ COMMITTED's recheck): :func:`authenticate_locked` runs :data:`AGENT_BY_TOKEN` again for the rest.
AGENT_BY_TOKEN_LOCKED = _by_token(locked=True)


#: What refuses a token, and nothing else (:func:`refuse_unusable`, SQLite's read before the write lock): the token's,
#: device's and agent's flags, the columns :func:`_refuse` decides on.
TOKEN_GATE = (
    select(
        _TOKEN.c.revoked,
        _TOKEN.c.expires_at,
        _DEVICE.c.id.label("device_id"),
        _DEVICE.c.revoked.label("device_revoked"),
        _USER.c.id.label("user_id"),
        _USER.c.suspended,
    )
    .select_from(_TOKEN)
    .outerjoin(_USER, _USER.c.id == _TOKEN.c.user_id)
    .outerjoin(_DEVICE, _DEVICE.c.id == _TOKEN.c.device_id)
    .where(_TOKEN.c.token_hash == bindparam("b_token_hash"))
)


@dataclass(frozen=True, slots=True)
class AgentOutsourcer:
    """The agent's outsourcer's terms, as stored (an :class:`~owner_server.identity.outsourcers.OutsourcerTerms`).

    Attributes:
        id: The outsourcer's id.
        per_hour_limit: Records per hour at most (None: the policy's).
        per_day_limit: Records per day at most (None: the policy's).
        networks: JSON list of CIDR ranges its agents work from (``[]``: anywhere).
        shift_start: ``HH:MM`` in the campaign's time zone, or None.
        shift_end: ``HH:MM``, or None.
    """

    id: int
    per_hour_limit: int | None
    per_day_limit: int | None
    networks: str
    shift_start: str | None
    shift_end: str | None


@dataclass(frozen=True, slots=True)
class AgentCampaign:
    """The agent's campaign, as stored.

    Attributes:
        id: The campaign's id.
        name: Its name.
        policy_json: Its ``CampaignPolicy`` as JSON text.
        erased: Whether its contacts were erased (no work is given in it then).
    """

    id: int
    name: str
    policy_json: str
    erased: bool


@dataclass(frozen=True, slots=True)
class AgentPrincipal:
    """An authenticated agent request: plain values read by one statement, no ORM row.

    Attributes:
        user_id: The agent's id.
        user_ref: The agent's public ref (audit actor).
        session_id: The login session the token belongs to.
        device_id: The device that logged in.
        address: The client's address of this request (the login's when not known).
        campaign: The agent's campaign (None: none assigned).
        outsourcer: The agent's outsourcer (None: none).
    """

    user_id: int
    user_ref: str
    session_id: str
    device_id: str
    address: str = ""
    campaign: AgentCampaign | None = None
    outsourcer: AgentOutsourcer | None = None

    @property
    def actor(self) -> str:
        """Audit actor string."""
        return f"agent:{self.user_ref}"


def _refuse(*, revoked: bool, expired: bool, suspended: bool | None, device_revoked: bool | None) -> None:
    """Raise the answer to a token that may not be used (``None``: the user or device row is missing)."""
    if revoked:
        if suspended:  # the suspension revoked it: say so to its own holder
            raise ForbiddenError("account suspended", code=ErrorCode.ACCOUNT_SUSPENDED)
        raise AuthError("not logged in")
    if expired:
        raise AuthError("session expired; log in again", code=ErrorCode.TOKEN_EXPIRED)
    if suspended is None or device_revoked is None or device_revoked:
        raise AuthError("not logged in", code=ErrorCode.DEVICE_REVOKED)
    if suspended:
        raise ForbiddenError("account suspended", code=ErrorCode.ACCOUNT_SUSPENDED)


def _principal(row: Any, *, now: datetime, address: str | None) -> AgentPrincipal:
    """The principal of one :data:`AGENT_BY_TOKEN` row (None: no such token), after the refusals."""
    if row is None:
        raise AuthError("not logged in")
    (
        revoked,
        expires_at,
        session_id,
        token_address,
        device_id,
        device_revoked,
        user_id,
        user_ref,
        suspended,
        outsourcer_id,
        per_hour,
        per_day,
        networks,
        shift_start,
        shift_end,
        campaign_id,
        campaign_name,
        policy_json,
        erased_at,
    ) = row
    _refuse(
        revoked=revoked,
        expired=expires_at < now,
        suspended=None if user_id is None else suspended,
        device_revoked=None if device_id is None else device_revoked,
    )
    outsourcer = None
    if outsourcer_id is not None:
        outsourcer = AgentOutsourcer(outsourcer_id, per_hour, per_day, networks, shift_start, shift_end)
    campaign = None
    if campaign_id is not None:
        campaign = AgentCampaign(campaign_id, campaign_name, policy_json, erased_at is not None)
    return AgentPrincipal(
        user_id=user_id,
        user_ref=user_ref,
        session_id=session_id,
        device_id=device_id,
        address=address or token_address,
        campaign=campaign,
        outsourcer=outsourcer,
    )


def _check_address(session: Session, *, agent: AgentPrincipal, address: str | None, now: datetime) -> None:
    if address is None or address_allowed(agent.outsourcer, address):
        return
    user = session.get(User, agent.user_id)  # the cold path: the alert names the agent's row
    assert user is not None
    alert_outside_network(session, user=user, address=address, where="request", now=now)
    raise DeferredError(ForbiddenError(_OUTSIDE, code=ErrorCode.ADDRESS_NOT_ALLOWED))


def authenticate(
    session: Session, *, token: str, address: str | None = None, now: datetime | None = None
) -> AgentPrincipal:
    """Resolve a bearer token to an agent (one prebuilt statement, plain columns).

    Args:
        session: The request's transaction.
        token: The bearer token.
        address: The client's address; when given, it must be inside the
            agent's outsourcer's networks (if it has any).
        now: The time of the request (UTC); the clock when None.

    Returns:
        The agent, with its campaign and outsourcer as stored now.

    Raises:
        AuthError: Unknown, revoked or expired token, or revoked device.
        ForbiddenError: Suspended account.
        DeferredError: ``address_not_allowed``: the token came from outside the
            site's networks (alerted once per quiet period).
    """
    return _resolve(session, {"b_token_hash": token_hash(token)}, address=address, now=now or utcnow())


def _resolve(session: Session, hashed: dict[str, str], *, address: str | None, now: datetime) -> AgentPrincipal:
    """:func:`authenticate` of a token's hash (``{"b_token_hash": ...}``)."""
    row = claim_sql.run(session, AGENT_BY_TOKEN, hashed).first()
    agent = _principal(row, now=now, address=address)
    _check_address(session, agent=agent, address=address, now=now)
    return agent


def authenticate_locked(
    session: Session, *, token: str, address: str | None = None, now: datetime | None = None
) -> AgentPrincipal:
    """PostgreSQL: lock the token's agent's row, then authenticate again under that lock (two statements).

    :data:`AGENT_BY_TOKEN_LOCKED` takes the lock
    :func:`~owner_server.work.suspension.lock_agent` would (``FOR NO KEY
    UPDATE`` of the agent's row, until the transaction ends: the agent's
    requests take turns) and refuses what its row refuses. A request that
    waited there for another one of the agent, or for an admin's change of the
    agent, then reads :data:`AGENT_BY_TOKEN` again (READ COMMITTED: a new
    snapshot), so what was committed during the wait (token or device revoked,
    agent suspended, outsourcer's networks or limits, campaign's policy or
    erasure) is what the caller's work sees, as on SQLite after ``BEGIN
    IMMEDIATE`` (:func:`confirm`). The transaction remembers the agent as
    confirmed: ``lock_agent`` takes no lock and reads nothing more.

    Args:
        session: The request's transaction (its first statement).
        token: The bearer token.
        address: The client's address, checked against the outsourcer's networks as read under the lock.
        now: The time of the request (UTC); the clock when None (read again after the wait).

    Returns:
        The agent as it stands under the lock, with this request's address.

    Raises:
        AuthError: Unknown, revoked or expired token, or revoked device (before or after the wait).
        ForbiddenError: Suspended account.
        DeferredError: ``address_not_allowed`` (alerted).
    """
    hashed = {"b_token_hash": token_hash(token)}
    row = claim_sql.run(session, AGENT_BY_TOKEN_LOCKED, hashed).first()
    _principal(row, now=now or utcnow(), address=None)  # refused already: no second statement (the address: below)
    agent = _resolve(session, hashed, address=address, now=now or utcnow())
    remember(session, AGENT_CONFIRMED, agent.user_id)
    return agent


def refuse_unusable(session: Session, *, token: str, now: datetime | None = None) -> None:
    """Refuse a token :func:`authenticate` would refuse, by one narrower statement (:data:`TOKEN_GATE`); else nothing.

    SQLite's read before the write lock (``api/sqlite_agent.py``): the same
    refusals as :func:`authenticate`'s, in the same order, without reading
    the outsourcer and campaign or building the principal (the read under
    the lock, :func:`confirm`, does, and checks the address).

    Args:
        session: The request's session (its transaction not begun: the statement is its own read transaction).
        token: The bearer token.
        now: The time of the request (UTC); the clock when None.

    Raises:
        AuthError: Unknown, revoked or expired token, or revoked device.
        ForbiddenError: Suspended account.
    """
    row = claim_sql.run(session, TOKEN_GATE, {"b_token_hash": token_hash(token)}).first()
    if row is None:
        raise AuthError("not logged in")
    revoked, expires_at, device_id, device_revoked, user_id, suspended = row
    _refuse(
        revoked=revoked,
        expired=expires_at < (now or utcnow()),
        suspended=None if user_id is None else suspended,
        device_revoked=None if device_id is None else device_revoked,
    )


def confirm(session: Session, *, token: str, address: str | None = None, now: datetime | None = None) -> AgentPrincipal:
    """SQLite: begin the write transaction and authenticate again in it, after :func:`authenticate` read before it.

    ``BEGIN IMMEDIATE`` on the session's connection (:func:`~owner_server.core.db.begin_write`:
    the session's transaction began in ``read_only(snapshot=False)``, its one
    read was its own implicit read transaction; for a
    :class:`~owner_server.core.pinned.PinnedSession`, :meth:`~owner_server.core.pinned.PinnedSession.begin_write`
    on its connection), then the same statement, so
    everything that may have changed meanwhile is read as it is now, under the
    write lock: the token revoked or expired, the device revoked, the agent
    suspended or moved to another campaign, the outsourcer's terms, the
    campaign's policy or erasure. The transaction
    remembers the agent as confirmed (:func:`owner_server.work.suspension.lock_agent`
    need not read its ``suspended`` flag again).

    Args:
        session: The session the request writes in (holding :func:`~owner_server.core.db.sqlite_writer`).
        token: The bearer token.
        address: The client's address (checked against the outsourcer's networks, as in :func:`authenticate`).
        now: The time of the request (UTC); the clock when None.

    Returns:
        The agent as it stands now, with this request's address.

    Raises:
        RuntimeError: The session's transaction did not begin in ``read_only(snapshot=False)`` (a pinned session:
            a transaction was begun already).
        AuthError: The token was revoked or expired, or the device revoked, meanwhile.
        ForbiddenError: The agent was suspended meanwhile.
        DeferredError: ``address_not_allowed`` (alerted).
    """
    if isinstance(session, PinnedSession):
        session.begin_write()  # the pinned connection's own transaction: no ORM transaction (core/pinned.py)
    else:
        begin_write(session)
    agent = authenticate(session, token=token, address=address, now=now)
    remember(session, AGENT_CONFIRMED, agent.user_id)
    return agent


def principal_for(
    session: Session, *, user: User, session_id: str, device_id: str, address: str = ""
) -> AgentPrincipal:
    """The principal of an agent row held by a caller without a token (tools, tests): its campaign and outsourcer read.

    Args:
        session: A transaction.
        user: The agent (a stored row).
        session_id: The login session to act in.
        device_id: The device to act from.
        address: The client's address ("" when not known).

    Returns:
        The principal :func:`authenticate` would give for a token of that session and device.
    """
    assert user.id is not None
    campaign = session.get(Campaign, user.campaign_id) if user.campaign_id is not None else None
    outsourcer = session.get(Outsourcer, user.outsourcer_id) if user.outsourcer_id is not None else None
    return AgentPrincipal(
        user_id=user.id,
        user_ref=user.ref,
        session_id=session_id,
        device_id=device_id,
        address=address,
        campaign=None
        if campaign is None or campaign.id is None
        else AgentCampaign(campaign.id, campaign.name, campaign.policy_json, campaign.erased_at is not None),
        outsourcer=None
        if outsourcer is None or outsourcer.id is None
        else AgentOutsourcer(
            outsourcer.id,
            outsourcer.per_hour_limit,
            outsourcer.per_day_limit,
            outsourcer.networks,
            outsourcer.shift_start,
            outsourcer.shift_end,
        ),
    )
