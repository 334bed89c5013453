"""Agent sessions: short-lived access tokens renewed by single-use refresh tokens bound to the device key.

A login starts a session (:class:`AgentSession`) and hands out an access
token of ``access_token_ttl_s`` and a refresh token. ``/refresh`` exchanges
the refresh token, with the device's Ed25519 signature over a fresh server
nonce (:func:`shared.auth.refresh_challenge`), for a new pair in the same
session. Each refresh token works once (rotation): presenting a used one ends
the session, its access tokens revoked (RFC 6819 section 5.2.2.3; OAuth 2.0
Security BCP, RFC 9700 section 4.14.2). One exception keeps a lost answer
from ending a shift: the same token again within ``RETRY_GRACE_S`` of its use,
with a fresh device signature, while its successor was never presented, is
the client retrying; the unanswered successor is retired and a new pair issued. No refresh goes past the session's
maximum length, nor after the agent was suspended, the device revoked or a
new login ended the session; an address outside the site's networks is
refused as at login. Tokens are stored only as their SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, col, delete, select, update

from owner_server.audit import log as audit
from owner_server.core.deferred import DeferredError
from owner_server.core.session_settings import SessionSettings
from owner_server.identity.login_rules import alert_outside_network
from owner_server.identity.outsourcers import address_allowed
from owner_server.models import AccessToken, AgentSession, Device, LoginNonce, Outsourcer, RefreshToken, Role, User
from owner_server.models._common import new_ref, utcnow
from shared.auth import RefreshRequest, RefreshResponse, refresh_challenge
from shared.errors import AuthError, ErrorCode, ForbiddenError, ValidationError
from shared.protocol import b64decode_strict

__all__ = [
    "IssuedTokens",
    "end_user_sessions",
    "purge_refresh_tokens",
    "refresh",
    "start_session",
    "token_hash",
]

_ENDED = "the session has ended; log in again"
_OUTSIDE = "this computer's address is outside the networks your organisation may work from"


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a bearer or refresh token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """An access and a refresh token just issued (clear text, to hand to the client once).

    Attributes:
        access_token: The bearer token.
        refresh_token: The single-use refresh token.
        expires_in_s: Seconds until the access token expires.
        session: The session they belong to.
        session_expires_in_s: Seconds until the session's maximum length is reached.
    """

    access_token: str
    refresh_token: str
    expires_in_s: int
    session: AgentSession
    session_expires_in_s: int


def _issue(session: Session, *, row: AgentSession, address: str, now: datetime, ttl_s: int) -> IssuedTokens:
    access, refresh_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = min(now + timedelta(seconds=ttl_s), row.ends_at)
    session.add(
        AccessToken(
            token_hash=token_hash(access),
            user_id=row.user_id,
            device_id=row.device_id,
            session_id=row.session_id,
            expires_at=expires,
            address=address[:64],
            created_at=now,
        )
    )
    session.add(
        RefreshToken(
            token_hash=token_hash(refresh_token),
            session_id=row.session_id,
            access_hash=token_hash(access),
            issued_at=now,
        )
    )
    session.flush()
    left = max(int((row.ends_at - now).total_seconds()), 0)
    return IssuedTokens(
        access_token=access,
        refresh_token=refresh_token,
        expires_in_s=min(ttl_s, left),
        session=row,
        session_expires_in_s=left,
    )


def start_session(
    session: Session, *, user: User, device: Device, address: str, now: datetime, lifetimes: SessionSettings
) -> IssuedTokens:
    """Open a session for a login that passed every check (the caller audits the login).

    Returns:
        The first access and refresh tokens.
    """
    assert user.id is not None
    row = AgentSession(
        session_id=new_ref(),
        user_id=user.id,
        device_id=device.id,
        started_at=now,
        ends_at=now + timedelta(seconds=lifetimes.max_session_s),
    )
    session.add(row)
    session.flush()
    return _issue(session, row=row, address=address, now=now, ttl_s=lifetimes.access_token_ttl_s)


def _end(session: Session, *, row: AgentSession, reason: str, now: datetime) -> None:
    if row.ended_at is None:
        row.ended_at = now
        row.end_reason = reason
        session.add(row)
    session.execute(
        update(AccessToken)
        .where(col(AccessToken.session_id) == row.session_id, col(AccessToken.revoked).is_(False))
        .values(revoked=True)
        .execution_options(synchronize_session=False)
    )


def end_user_sessions(session: Session, *, user_id: int, reason: str, now: datetime) -> None:
    """Mark every open session of an agent ended (a new login, a suspension); its tokens are revoked separately."""
    session.execute(
        update(AgentSession)
        .where(col(AgentSession.user_id) == user_id, col(AgentSession.ended_at).is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    )


def _refuse(session: Session, *, row: AgentSession, user: User | None, reason: str, address: str) -> None:
    audit.append(
        session,
        actor=f"agent:{user.ref}" if user else "system:login",
        action="refresh_refused",
        object_type="session",
        object_id=row.session_id,
        details={"reason": reason, "address": address[:64]},
    )


def _device_proof_ok(session: Session, *, row: AgentSession, request: RefreshRequest, now: datetime) -> bool:
    device = session.get(Device, request.device_id)
    nonce = session.get(LoginNonce, request.nonce)
    if device is None or nonce is None or device.id != row.device_id:
        return False
    if nonce.device_id != device.id or nonce.used or nonce.expires_at < now:
        return False
    nonce.used = True
    session.add(nonce)
    try:
        signature = b64decode_strict(request.signature, expected_len=64)
        message = refresh_challenge(
            session_id=row.session_id,
            device_id=device.id,
            nonce=request.nonce,
            refresh_token_sha256=token_hash(request.refresh_token),
        )
        Ed25519PublicKey.from_public_bytes(device.public_key).verify(signature, message)
    except (ValidationError, InvalidSignature):
        return False
    return True


#: How long after a rotation the same refresh token may come again as a retry of a request whose answer was lost.
RETRY_GRACE_S = 60


def _supersede_unanswered(session: Session, *, token: RefreshToken, now: datetime) -> bool:
    """Whether a used token comes again as the retry of a rotation whose answer never arrived.

    That is: within :data:`RETRY_GRACE_S` of its use, with the device proof
    already checked, and its successor never presented (a client that got the
    answer would have used the successor, never this token again). The unused
    successor and its access token are then retired, and the caller rotates
    again. Anything else is a reuse.
    """
    assert token.used_at is not None
    if now - token.used_at > timedelta(seconds=RETRY_GRACE_S):
        return False
    successor = session.exec(
        select(RefreshToken)
        .where(RefreshToken.session_id == token.session_id, col(RefreshToken.issued_at) == token.used_at)
        .with_for_update()
    ).first()
    if successor is None or successor.used_at is not None:
        return False
    successor.used_at = now
    session.add(successor)
    session.execute(
        update(AccessToken)
        .where(col(AccessToken.token_hash) == successor.access_hash)
        .values(revoked=True)
        .execution_options(synchronize_session=False)
    )
    return True


def _ended_reason(session: Session, *, row: AgentSession, token: RefreshToken, user: User | None, now: datetime) -> str:
    """Why the session can no longer be refreshed ("" when it can)."""
    if row.ended_at is not None:
        return row.end_reason or "ended"
    if row.ends_at <= now:
        return "max_length"
    if user is None or user.suspended:
        return "suspended"
    device = session.get(Device, row.device_id)
    if device is None or device.revoked:
        return "device_revoked"
    access = session.get(AccessToken, token.access_hash)
    if access is None or access.revoked:
        return "revoked"  # a new login, a suspension or an admin revoked the session's tokens
    if user.role is not Role.AGENT or user.campaign_id is None:
        return "not_an_agent"
    return ""


def refresh(
    session: Session,
    *,
    request: RefreshRequest,
    lifetimes: SessionSettings,
    address: str = "",
    now: datetime | None = None,
) -> RefreshResponse:
    """Exchange a refresh token plus device proof for a new token pair of the same session.

    Args:
        session: The request's transaction.
        request: The refresh token and the device's signature over a fresh nonce.
        lifetimes: The installation's ``[sessions]`` settings.
        address: The client's address (audited, checked against the outsourcer's networks).
        now: The time of the request (UTC); the clock when None.

    Returns:
        The new tokens; the one presented is used up.

    Raises:
        AuthError: Unknown token, failed device proof (``bad_signature``), or the
            session ended (reused token, maximum length, new login, revoked device).
        ForbiddenError: ``account_suspended``, or ``address_not_allowed`` (alerted).
        DeferredError: Wrapping the above where the refusal is audited (and, for a
            reused token, the session ended) in the committed transaction.
    """
    now = now or utcnow()
    token = session.get(RefreshToken, token_hash(request.refresh_token), with_for_update=True)
    row = session.get(AgentSession, token.session_id, with_for_update=True) if token else None
    if token is None or row is None:
        raise AuthError(_ENDED)
    user = session.get(User, row.user_id)
    if not _device_proof_ok(session, row=row, request=request, now=now):
        _refuse(session, row=row, user=user, reason="device_proof", address=address)
        raise DeferredError(AuthError("this computer could not prove its identity", code=ErrorCode.BAD_SIGNATURE))
    retried = False
    if token.used_at is not None:
        if not _supersede_unanswered(session, token=token, now=now):
            _end(session, row=row, reason="refresh_reused", now=now)
            _refuse(session, row=row, user=user, reason="refresh_reused", address=address)
            raise DeferredError(AuthError(_ENDED))
        retried = True
    ended_before = row.ended_at is not None
    reason = _ended_reason(session, row=row, token=token, user=user, now=now)
    if reason:
        _end(session, row=row, reason=reason, now=now)
        _refuse(session, row=row, user=user, reason=reason, address=address)
        if reason == "suspended" and not ended_before:  # told once; a reinstated agent logs in again
            raise DeferredError(ForbiddenError("account suspended", code=ErrorCode.ACCOUNT_SUSPENDED))
        code = ErrorCode.DEVICE_REVOKED if reason == "device_revoked" else ErrorCode.UNAUTHORIZED
        raise DeferredError(AuthError(_ENDED, code=code))
    assert user is not None
    outsourcer = session.get(Outsourcer, user.outsourcer_id) if user.outsourcer_id is not None else None
    if not address_allowed(outsourcer, address):
        alert_outside_network(session, user=user, address=address, where="refresh", now=now)
        _refuse(session, row=row, user=user, reason="address_not_allowed", address=address)
        raise DeferredError(ForbiddenError(_OUTSIDE, code=ErrorCode.ADDRESS_NOT_ALLOWED))
    token.used_at = now  # a retry moves it on, so a retry of the retry matches its successor
    _retire_access(session, access_hash=token.access_hash, now=now)
    row.refreshes += 1
    session.add_all([token, row])
    issued = _issue(session, row=row, address=address, now=now, ttl_s=lifetimes.access_token_ttl_s)
    audit.append(
        session,
        actor=f"agent:{user.ref}",
        action="session_refreshed",
        object_type="session",
        object_id=row.session_id,
        details={"device_id": row.device_id, "address": address[:64], "refreshes": row.refreshes, "retry": retried},
    )
    return RefreshResponse(
        access_token=issued.access_token,
        expires_in_s=issued.expires_in_s,
        refresh_token=issued.refresh_token,
        session_id=row.session_id,
        session_expires_in_s=issued.session_expires_in_s,
    )


#: How long the access token a refresh replaced still works (requests already under way), in seconds.
PREVIOUS_ACCESS_GRACE_S = 30


def _retire_access(session: Session, *, access_hash: str | None, now: datetime) -> None:
    """Let the access token a refresh replaced live at most :data:`PREVIOUS_ACCESS_GRACE_S` more."""
    previous = session.get(AccessToken, access_hash) if access_hash else None
    until = now + timedelta(seconds=PREVIOUS_ACCESS_GRACE_S)
    if previous is not None and previous.expires_at > until:
        previous.expires_at = until
        session.add(previous)


#: How long refresh tokens of a session that is over are kept (a reuse shortly after the end is still recognised).
KEEP_ENDED_S = 24 * 3600


def purge_refresh_tokens(session: Session, *, now: datetime) -> int:
    """Delete the refresh tokens of sessions over for more than :data:`KEEP_ENDED_S` (the sessions stay).

    Returns:
        How many were deleted.
    """
    before = now - timedelta(seconds=KEEP_ENDED_S)
    over = select(AgentSession.session_id).where(
        (col(AgentSession.ends_at) < before) | (col(AgentSession.ended_at) < before)
    )
    result = session.execute(delete(RefreshToken).where(col(RefreshToken.session_id).in_(over)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
