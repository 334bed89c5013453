"""Bearer-token checks: one query from the token to its agent, device, outsourcer and campaign.

:func:`authenticate` resolves a token with one statement (the rows land in
the session, so the work services find the agent's campaign and outsourcer
without another query). :func:`confirm` repeats the checks that can change
from one transaction to the next (token revoked or expired, agent suspended
or moved to another campaign, device revoked) in one narrow statement: the
agent API authenticates in a read transaction, then confirms inside the
write transaction that issues (:meth:`owner_server.api.state.ServerState.agent_transaction`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from owner_server.core.deferred import DeferredError
from owner_server.core.txn_memo import AGENT_CONFIRMED, remember
from owner_server.identity.login_rules import alert_outside_network
from owner_server.identity.outsourcers import address_allowed
from owner_server.identity.sessions import token_hash
from owner_server.models import AccessToken, Campaign, Device, Outsourcer, User
from owner_server.models._common import utcnow
from shared.errors import AuthError, ErrorCode, ForbiddenError

__all__ = ["AgentPrincipal", "authenticate", "confirm"]

_OUTSIDE = "this computer's address is outside the networks your organisation may work from"

_ROWS_KEY = "custos.agent_rows"
_TOKEN = col(AccessToken.token_hash) == bindparam("token_hash")
_AGENT = (
    # three entities, the token's and device's columns: what an agent request needs, no more ORM loading
    select(
        User,
        Outsourcer,
        Campaign,
        col(AccessToken.revoked),
        col(AccessToken.expires_at),
        col(AccessToken.session_id),
        col(AccessToken.address),
        col(Device.id),
        col(Device.revoked),
    )
    .select_from(AccessToken)
    .outerjoin(User, col(User.id) == col(AccessToken.user_id))
    .outerjoin(Device, col(Device.id) == col(AccessToken.device_id))
    .outerjoin(Outsourcer, col(Outsourcer.id) == col(User.outsourcer_id))
    .outerjoin(Campaign, col(Campaign.id) == col(User.campaign_id))
    .where(_TOKEN)
)
_FLAGS = (
    select(
        col(AccessToken.revoked),
        col(AccessToken.expires_at),
        col(User.suspended),
        col(User.campaign_id),
        col(Device.revoked),
    )
    .outerjoin(User, col(User.id) == col(AccessToken.user_id))
    .outerjoin(Device, col(Device.id) == col(AccessToken.device_id))
    .where(_TOKEN)
)


@dataclass(frozen=True, slots=True)
class AgentPrincipal:
    """An authenticated agent request.

    Attributes:
        user: The agent.
        session_id: The login session the token belongs to.
        device_id: The device that logged in.
        address: The client's address of this request ("" when not known).
    """

    user: User
    session_id: str
    device_id: str
    address: str = ""

    @property
    def actor(self) -> str:
        """Audit actor string."""
        return f"agent:{self.user.ref}"


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


def _check_address(session: Session, *, user: User, address: str | None, now: datetime) -> None:
    if address is None:
        return
    outsourcer = session.get(Outsourcer, user.outsourcer_id) if user.outsourcer_id else None
    if not address_allowed(outsourcer, address):
        alert_outside_network(session, user=user, address=address, where="request", now=now)
        raise DeferredError(ForbiddenError(_OUTSIDE, code=ErrorCode.ADDRESS_NOT_ALLOWED))


def authenticate(
    session: Session, *, token: str, address: str | None = None, now: datetime | None = None
) -> AgentPrincipal:
    """Resolve a bearer token to an agent (one statement).

    Args:
        session: The request's transaction.
        token: The bearer token.
        address: The client's address; when given, it must be inside the
            agent's outsourcer's networks (if it has any).
        now: The time of the request (UTC); the clock when None.

    Raises:
        AuthError: Unknown, revoked or expired token, or revoked device.
        ForbiddenError: Suspended account.
        DeferredError: ``address_not_allowed``: the token came from outside the
            site's networks (alerted once per quiet period).
    """
    now = now or utcnow()
    found = session.execute(_AGENT, {"token_hash": token_hash(token)}).first()
    if found is None:
        raise AuthError("not logged in")
    user, outsourcer, campaign, revoked, expires_at, session_id, token_address, device_id, device_revoked = found
    session.info[_ROWS_KEY] = (user, outsourcer, campaign)  # the identity map holds rows weakly: keep them
    _refuse(
        revoked=revoked,
        expired=expires_at < now,
        suspended=None if user is None else user.suspended,
        device_revoked=None if device_id is None else device_revoked,
    )
    assert user is not None and device_id is not None
    _check_address(session, user=user, address=address, now=now)
    return AgentPrincipal(user=user, session_id=session_id, device_id=device_id, address=address or token_address)


def confirm(
    session: Session, *, agent: AgentPrincipal, token: str, address: str | None = None, now: datetime | None = None
) -> AgentPrincipal:
    """Check again, in this transaction, what may have changed since :func:`authenticate` in an earlier one.

    Args:
        session: The transaction the request writes in.
        agent: What :func:`authenticate` returned for ``token``.
        token: The bearer token.
        address: The client's address (checked against the outsourcer's networks, as in :func:`authenticate`).
        now: The time of the request (UTC); the clock when None.

    Returns:
        ``agent``, still valid, with this request's address (its user row read again if it changed
        campaign meanwhile).

    Raises:
        AuthError: The token was revoked or expired, or the device revoked, meanwhile.
        ForbiddenError: The agent was suspended meanwhile.
        DeferredError: ``address_not_allowed`` (alerted).
    """
    now = now or utcnow()
    flags = session.execute(_FLAGS, {"token_hash": token_hash(token)}).first()
    if flags is None:
        raise AuthError("not logged in")
    revoked, expires_at, suspended, campaign_id, device_revoked = flags
    _refuse(revoked=revoked, expired=expires_at < now, suspended=suspended, device_revoked=device_revoked)
    if campaign_id != agent.user.campaign_id:  # moved meanwhile: work in the campaign of now
        session.refresh(agent.user)
    remember(session, AGENT_CONFIRMED, agent.user.id)  # work.suspension.lock_agent need not read it again
    _check_address(session, user=agent.user, address=address, now=now)
    return replace(agent, address=address) if address else agent
