"""Device enrolment, challenge-response login and bearer-token checks.

A password alone never logs in: the device key created at enrolment must sign
a fresh single-use server nonce (Ed25519, RFC 8032). Tokens are random,
short-lived and stored only as their SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, col, select, update

from owner_server.audit import log as audit
from owner_server.core.deferred import DeferredError
from owner_server.identity.admin import hash_code
from owner_server.identity.passwords import verify_dummy, verify_password
from owner_server.models import AccessToken, Campaign, Device, EnrolmentCode, LoginNonce, Role, User
from owner_server.models._common import utcnow
from shared.errors import AuthError, ErrorCode, ForbiddenError, ValidationError
from shared.limits import LIMITS
from shared.protocol import (
    EnrolRequest,
    EnrolResponse,
    LoginRequest,
    LoginResponse,
    NonceResponse,
    b64decode_strict,
    login_challenge,
)

__all__ = ["AgentPrincipal", "authenticate", "enrol_device", "issue_nonce", "login", "token_hash"]

_LOGIN_FAILED = "login failed: wrong login, password or device"


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a bearer token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def enrol_device(session: Session, *, request: EnrolRequest) -> EnrolResponse:
    """Bind a device key to the agent that owns a one-time enrolment code.

    Enrolling a new device revokes the agent's previous devices.

    Raises:
        AuthError: The code is unknown, used or expired (one message for all).
        ValidationError: The public key is not 32 bytes of base64.
    """
    raw_key = b64decode_strict(request.device_public_key, expected_len=32)
    Ed25519PublicKey.from_public_bytes(raw_key)
    now = utcnow()
    code = session.exec(
        select(EnrolmentCode).where(EnrolmentCode.code_hash == hash_code(request.enrolment_code))
    ).first()
    user = session.get(User, code.user_id) if code else None
    if code is None or code.used_at is not None or code.expires_at < now or user is None or user.suspended:
        raise AuthError("enrolment code is not valid", code=ErrorCode.ENROLMENT_INVALID)
    code.used_at = now
    session.add(code)
    session.exec(update(Device).where(col(Device.user_id) == user.id).values(revoked=True))
    assert user.id is not None
    device = Device(user_id=user.id, public_key=raw_key, name=request.device_name)
    session.add(device)
    session.flush()
    audit.append(
        session, actor=f"agent:{user.ref}", action="device_enrolled", object_type="device", object_id=device.id
    )
    return EnrolResponse(device_id=device.id, login=user.login)


def issue_nonce(session: Session, *, device_id: str) -> NonceResponse:
    """Make a single-use login challenge for a device.

    Unknown devices get a nonce too (it can never verify), so the answer does
    not reveal which device ids exist.
    """
    nonce = secrets.token_urlsafe(24)
    if session.get(Device, device_id) is not None:
        session.add(
            LoginNonce(nonce=nonce, device_id=device_id, expires_at=utcnow() + timedelta(seconds=LIMITS.nonce_ttl_s))
        )
    return NonceResponse(nonce=nonce, expires_in_s=LIMITS.nonce_ttl_s)


def _verify_device(session: Session, *, user: User, request: LoginRequest) -> Device | None:
    device = session.get(Device, request.device_id)
    nonce = session.get(LoginNonce, request.nonce)
    if device is None or nonce is None or device.user_id != user.id or device.revoked:
        return None
    if nonce.device_id != device.id or nonce.used or nonce.expires_at < utcnow():
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


def login(session: Session, *, request: LoginRequest) -> LoginResponse:
    """Log an agent in with password plus device proof.

    Returns:
        A bearer token valid for ``LIMITS.token_ttl_s`` seconds.

    Raises:
        AuthError: Any of login, password, device, nonce or signature is wrong
            (one message for all; the failure is audited).
        ForbiddenError: The account is suspended or not an agent.
    """
    user = session.exec(select(User).where(User.login == request.login)).first()
    if user is None:
        verify_dummy(request.password)
        raise AuthError(_LOGIN_FAILED)
    password_ok = verify_password(user.password_hash, request.password)
    device = _verify_device(session, user=user, request=request) if password_ok else None
    if device is None:
        audit.append(session, actor=f"agent:{user.ref}", action="login_failed", object_type="user", object_id=user.ref)
        raise DeferredError(AuthError(_LOGIN_FAILED))
    if user.suspended or user.role is not Role.AGENT or user.campaign_id is None:
        audit.append(session, actor=f"agent:{user.ref}", action="login_refused", object_type="user", object_id=user.ref)
        raise DeferredError(
            ForbiddenError("this account may not log in to the agent client", code=ErrorCode.ACCOUNT_SUSPENDED)
        )
    token = secrets.token_urlsafe(32)
    assert user.id is not None
    row = AccessToken(
        token_hash=token_hash(token),
        user_id=user.id,
        device_id=device.id,
        expires_at=utcnow() + timedelta(seconds=LIMITS.token_ttl_s),
    )
    session.add(row)
    session.flush()
    campaign = session.get(Campaign, user.campaign_id)
    audit.append(
        session,
        actor=f"agent:{user.ref}",
        action="login",
        object_type="session",
        object_id=row.session_id,
        details={"device_id": device.id},
    )
    return LoginResponse(
        access_token=token,
        expires_in_s=LIMITS.token_ttl_s,
        session_id=row.session_id,
        agent_login=user.login,
        agent_id=user.ref,
        campaign=campaign.name if campaign else "",
    )


@dataclass(frozen=True, slots=True)
class AgentPrincipal:
    """An authenticated agent request."""

    user: User
    session_id: str
    device_id: str

    @property
    def actor(self) -> str:
        """Audit actor string."""
        return f"agent:{self.user.ref}"


def authenticate(session: Session, *, token: str) -> AgentPrincipal:
    """Resolve a bearer token to an agent.

    Raises:
        AuthError: Unknown, revoked or expired token, or revoked device.
        ForbiddenError: Suspended account.
    """
    row = session.get(AccessToken, token_hash(token))
    if row is None or row.revoked:
        raise AuthError("not logged in")
    if row.expires_at < utcnow():
        raise AuthError("session expired; log in again", code=ErrorCode.TOKEN_EXPIRED)
    user = session.get(User, row.user_id)
    device = session.get(Device, row.device_id)
    if user is None or device is None or device.revoked:
        raise AuthError("not logged in", code=ErrorCode.DEVICE_REVOKED)
    if user.suspended:
        raise ForbiddenError("account suspended", code=ErrorCode.ACCOUNT_SUSPENDED)
    return AgentPrincipal(user=user, session_id=row.session_id, device_id=device.id)
