"""Device enrolment, challenge-response login and bearer-token checks.

A password alone never logs in: the device key created at enrolment must sign
a fresh single-use server nonce (Ed25519, RFC 8032). Tokens are random,
short-lived and stored only as their SHA-256.

Every failed login gets one answer (no oracle), with two exceptions that only
a caller holding the agent's enrolled device can see: ``account_locked`` while
a lock-out lasts (:mod:`owner_server.identity.lockout`) and
``address_not_allowed`` outside the outsourcer's site networks. A new login
ends the agent's other sessions (:mod:`owner_server.identity.login_rules`).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, col, delete, func, select, update

from owner_server.audit import log as audit
from owner_server.core.deferred import DeferredError
from owner_server.core.session_settings import SessionSettings
from owner_server.identity import lockout
from owner_server.identity.admin import hash_code
from owner_server.identity.bearer import AgentPrincipal, authenticate
from owner_server.identity.login_password import PasswordCheck
from owner_server.identity.login_rules import alert_outside_network, apply_session_rule, end_other_sessions
from owner_server.identity.outsourcers import address_allowed
from owner_server.identity.passwords import verify_dummy, verify_password
from owner_server.identity.sessions import end_user_sessions, purge_refresh_tokens, start_session, token_hash
from owner_server.models import Campaign, Device, EnrolmentCode, LoginNonce, Outsourcer, Role, User
from owner_server.models._common import utcnow
from shared.auth import EnrolRequest, EnrolResponse, LoginRequest, LoginResponse, NonceResponse, login_challenge
from shared.containment import RuleName
from shared.errors import AuthError, ErrorCode, ForbiddenError, LockedError, ValidationError
from shared.limits import LIMITS
from shared.protocol import b64decode_strict

__all__ = [
    "AgentPrincipal",
    "authenticate",
    "enrol_device",
    "issue_nonce",
    "login",
    "purge_expired_nonces",
    "token_hash",
]

_LOGIN_FAILED = "login failed: wrong login, password or device"
_OUTSIDE = "this computer's address is outside the networks your organisation may work from"


def _suspended() -> DeferredError:
    return DeferredError(ForbiddenError("account suspended", code=ErrorCode.ACCOUNT_SUSPENDED))


def enrol_device(
    session: Session, *, request: EnrolRequest, address: str = "", now: datetime | None = None
) -> EnrolResponse:
    """Bind a device key to the agent that owns a one-time enrolment code.

    Enrolling a new device revokes the agent's previous devices; if one of
    them was still active, that is the campaign's ``new_device`` rule (alert,
    or suspend as the policy says).

    Args:
        session: The request's transaction.
        request: The code and the device's public key.
        address: The client's address (audited).
        now: The time of the request (UTC); the clock when None.

    Raises:
        AuthError: The code is unknown, used or expired (one message for all).
        ValidationError: The public key is not 32 bytes of base64.
        DeferredError: ``account_suspended`` when the ``new_device`` rule suspended the agent.
    """
    raw_key = b64decode_strict(request.device_public_key, expected_len=32)
    Ed25519PublicKey.from_public_bytes(raw_key)
    now = now or utcnow()
    code = session.exec(
        select(EnrolmentCode).where(EnrolmentCode.code_hash == hash_code(request.enrolment_code))
    ).first()
    user = session.get(User, code.user_id) if code else None
    if code is None or code.used_at is not None or code.expires_at < now or user is None or user.suspended:
        raise AuthError("enrolment code is not valid", code=ErrorCode.ENROLMENT_INVALID)
    code.used_at = now
    session.add(code)
    active = session.exec(
        select(func.count()).select_from(Device).where(Device.user_id == user.id, col(Device.revoked).is_(False))
    ).one()
    session.exec(update(Device).where(col(Device.user_id) == user.id).values(revoked=True))
    assert user.id is not None
    device = Device(user_id=user.id, public_key=raw_key, name=request.device_name, enrolled_at=now)
    session.add(device)
    session.flush()
    audit.append(
        session,
        actor=f"agent:{user.ref}",
        action="device_enrolled",
        object_type="device",
        object_id=device.id,
        details={"address": address, "previous_active_devices": int(active)},
    )
    if active and apply_session_rule(
        session, user=user, rule=RuleName.NEW_DEVICE, figures={"previous_active_devices": int(active)}, now=now
    ):
        raise _suspended()
    return EnrolResponse(device_id=device.id, login=user.login)


def issue_nonce(session: Session, *, device_id: str, now: datetime | None = None) -> NonceResponse:
    """Make a single-use login challenge for a device.

    Unknown devices get a nonce too (it can never verify), so the answer does
    not reveal which device ids exist.
    """
    nonce = secrets.token_urlsafe(24)
    if session.get(Device, device_id) is not None:
        expires = (now or utcnow()) + timedelta(seconds=LIMITS.nonce_ttl_s)
        session.add(LoginNonce(nonce=nonce, device_id=device_id, expires_at=expires))
    return NonceResponse(nonce=nonce, expires_in_s=LIMITS.nonce_ttl_s)


def _verify_device(session: Session, *, user: User, request: LoginRequest, now: datetime) -> Device | None:
    device = session.get(Device, request.device_id)
    nonce = session.get(LoginNonce, request.nonce)
    if device is None or nonce is None or device.user_id != user.id or device.revoked:
        return None
    if nonce.device_id != device.id or nonce.used or nonce.expires_at < now:
        return None
    nonce.used = True
    session.add(nonce)
    try:
        signature = b64decode_strict(request.signature, expected_len=64)
    except ValidationError:
        return None  # same answer (and audit) as a wrong signature: no password oracle
    try:
        Ed25519PublicKey.from_public_bytes(device.public_key).verify(
            signature, login_challenge(login=user.login, device_id=device.id, nonce=request.nonce)
        )
    except InvalidSignature:
        return None
    return device


def _refuse(session: Session, *, user: User, reason: str, address: str, error: ForbiddenError) -> DeferredError:
    audit.append(
        session,
        actor=f"agent:{user.ref}",
        action="login_refused",
        object_type="user",
        object_id=user.ref,
        details={"reason": reason, "address": address},
    )
    return DeferredError(error)


def _check_credentials(
    session: Session, *, user: User, request: LoginRequest, address: str, now: datetime, checked: PasswordCheck | None
) -> Device:
    """The verified device, or a refusal: the generic failure, or the lock to the agent's own device.

    While the account is locked, the answer depends on the device proof
    alone: the enrolled device gets ``account_locked`` whatever the password
    (so the lock is no password oracle even for whoever holds the device);
    anything else gets the generic failure, as always.
    """
    if checked is not None and checked.holds_for(user.password_hash):
        password_ok = checked.ok
    else:
        password_ok = verify_password(user.password_hash, request.password)
    device = _verify_device(session, user=user, request=request, now=now)
    if lockout.is_locked(user, now):
        if device is not None:
            assert user.locked_until is not None
            locked = LockedError(
                "account locked after repeated failed logins; try again later", until=user.locked_until
            )
            raise _refuse(session, user=user, reason="locked", address=address, error=locked)
        lockout.record_failure(session, user=user, now=now, address=address)
        raise DeferredError(AuthError(_LOGIN_FAILED))
    if device is None or not password_ok:
        lockout.record_failure(session, user=user, now=now, address=address)
        raise DeferredError(AuthError(_LOGIN_FAILED))
    return device


def login(
    session: Session,
    *,
    request: LoginRequest,
    address: str = "",
    now: datetime | None = None,
    lifetimes: SessionSettings | None = None,
    checked: PasswordCheck | None = None,
) -> LoginResponse:
    """Log an agent in with password plus device proof, ending its other sessions.

    Args:
        session: The request's transaction.
        request: Login, password and the device's signature over a fresh nonce.
        address: The client's IP address as the server saw it (stored with the
            token, audited, checked against the outsourcer's networks).
        now: The time of the request (UTC); the clock when None.
        lifetimes: Token and session lifetimes (``[sessions]``); the defaults when None.
        checked: The password already checked outside this transaction
            (:mod:`owner_server.identity.login_password`); used only if the agent's stored hash is
            still the one checked, else the password is checked here.

    Returns:
        A bearer token valid for ``lifetimes.access_token_ttl_s`` seconds and the
        refresh token that renews it (:func:`owner_server.identity.sessions.refresh`).

    Raises:
        AuthError: Any of login, password, device, nonce or signature is wrong
            (one message for all; the failure is audited and counts towards the lock-out).
        LockedError: The account is locked and the agent's device proved itself.
        ForbiddenError: ``address_not_allowed`` (outside the site's networks,
            alerted), ``account_suspended`` (suspended, not an agent, or just
            suspended by the ``several_sessions`` rule).
    """
    now = now or utcnow()
    user = session.exec(select(User).where(User.login == request.login).with_for_update()).first()
    if user is None:
        if checked is None:
            verify_dummy(request.password)
        raise AuthError(_LOGIN_FAILED)
    device = _check_credentials(session, user=user, request=request, address=address, now=now, checked=checked)
    outsourcer = session.get(Outsourcer, user.outsourcer_id) if user.outsourcer_id is not None else None
    if not address_allowed(outsourcer, address):
        alert_outside_network(session, user=user, address=address, where="login", now=now)
        error = ForbiddenError(_OUTSIDE, code=ErrorCode.ADDRESS_NOT_ALLOWED)
        raise _refuse(session, user=user, reason="address_not_allowed", address=address, error=error)
    if user.suspended or user.role is not Role.AGENT or user.campaign_id is None:
        error = ForbiddenError("this account may not log in to the agent client", code=ErrorCode.ACCOUNT_SUSPENDED)
        raise _refuse(session, user=user, reason="suspended", address=address, error=error)
    lockout.clear_failures(session, user=user)
    live = end_other_sessions(session, user=user, now=now)
    assert user.id is not None
    end_user_sessions(session, user_id=user.id, reason="new_login", now=now)
    if live and apply_session_rule(
        session, user=user, rule=RuleName.SEVERAL_SESSIONS, figures={"live_sessions": live}, now=now
    ):
        raise _suspended()
    issued = start_session(
        session, user=user, device=device, address=address, now=now, lifetimes=lifetimes or SessionSettings()
    )
    campaign = session.get(Campaign, user.campaign_id)
    audit.append(
        session,
        actor=f"agent:{user.ref}",
        action="login",
        object_type="session",
        object_id=issued.session.session_id,
        details={"device_id": device.id, "address": address[:64], "sessions_ended": live},
    )
    return LoginResponse(
        access_token=issued.access_token,
        expires_in_s=issued.expires_in_s,
        session_id=issued.session.session_id,
        agent_login=user.login,
        agent_id=user.ref,
        campaign=campaign.name if campaign else "",
        refresh_token=issued.refresh_token,
        session_expires_in_s=issued.session_expires_in_s,
    )


def purge_expired_nonces(session: Session, *, now: datetime | None = None) -> int:
    """Delete login challenges past their lifetime, and the refresh tokens of sessions long over.

    The running server does it every minute. ``/nonce`` needs no login, so
    without this its rows would pile up; so would the used refresh tokens of
    every session (:func:`owner_server.identity.sessions.purge_refresh_tokens`).

    Returns:
        How many challenges were deleted.
    """
    now = now or utcnow()
    result = session.execute(delete(LoginNonce).where(col(LoginNonce.expires_at) < now))
    purge_refresh_tokens(session, now=now)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
