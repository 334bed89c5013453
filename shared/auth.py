"""Wire models of enrolment, login and token refresh (``/api/v1/agent/enrol|nonce|login|refresh``).

A device proves itself with an Ed25519 signature (RFC 8032) over a
domain-separated challenge; the server keeps only hashes of the tokens.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from shared.limits import LIMITS
from shared.protocol import B64, Ident, Login, WireModel

__all__ = [
    "EnrolRequest",
    "EnrolResponse",
    "LoginRequest",
    "LoginResponse",
    "NonceRequest",
    "NonceResponse",
    "RefreshRequest",
    "RefreshResponse",
    "login_challenge",
    "refresh_challenge",
]


def login_challenge(*, login: str, device_id: str, nonce: str) -> bytes:
    """Build the exact bytes a device signs to prove itself at login.

    Domain-separated so a signature made for login can never be replayed as
    anything else. Ed25519 (RFC 8032) signs these bytes.

    Args:
        login: The agent's login name.
        device_id: The device id issued at enrolment.
        nonce: The single-use server nonce.

    Returns:
        The message bytes (UTF-8).
    """
    return f"custos-login-v1\n{login}\n{device_id}\n{nonce}".encode()


def refresh_challenge(*, session_id: str, device_id: str, nonce: str, refresh_token_sha256: str) -> bytes:
    """Build the exact bytes a device signs to refresh its session's tokens.

    Domain-separated from :func:`login_challenge` (a login signature can never
    serve as a refresh one, nor the reverse) and bound to the one refresh
    token presented, by its SHA-256 (hex), so the signature is worth nothing
    with any other token. Ed25519 (RFC 8032) signs these bytes.

    Args:
        session_id: The login session the token belongs to.
        device_id: The device id issued at enrolment.
        nonce: A single-use server nonce (``/nonce``).
        refresh_token_sha256: SHA-256 of the refresh token, lower-case hex.

    Returns:
        The message bytes (UTF-8).
    """
    return f"custos-refresh-v1\n{session_id}\n{device_id}\n{nonce}\n{refresh_token_sha256}".encode()


class EnrolRequest(WireModel):
    """First contact of a new device: a one-time code and its public key."""

    enrolment_code: Annotated[str, StringConstraints(min_length=8, max_length=64)]
    device_public_key: B64 = Field(description="Ed25519 raw public key, 32 bytes, base64")
    device_name: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class EnrolResponse(WireModel):
    """The device id the server assigned and the login it is bound to."""

    device_id: Ident
    login: Login


class NonceRequest(WireModel):
    """Ask for a login challenge for this device."""

    device_id: Ident


class NonceResponse(WireModel):
    """A fresh single-use login challenge."""

    nonce: Ident
    expires_in_s: int


class LoginRequest(WireModel):
    """Password plus the device's signature over :func:`login_challenge`."""

    login: Login
    password: Annotated[str, StringConstraints(min_length=1, max_length=LIMITS.max_password_chars)]
    device_id: Ident
    nonce: Ident
    signature: B64 = Field(description="Ed25519 signature, 64 bytes, base64")
    protocol_version: int = 1


Token = Annotated[str, StringConstraints(min_length=16, max_length=128)]


class LoginResponse(WireModel):
    """A short-lived bearer token for the agent API, and the refresh token that renews it.

    ``refresh_token`` (kept only in the client's memory) renews both tokens
    through ``/refresh`` until the session ends, at the latest after
    ``session_expires_in_s``.
    """

    access_token: Token
    expires_in_s: int
    session_id: Ident
    agent_login: Login
    agent_id: Ident
    campaign: str
    refresh_token: Token | None = None
    session_expires_in_s: int | None = None


class RefreshRequest(WireModel):
    """Renew a session's tokens: the refresh token plus the device's signature over :func:`refresh_challenge`.

    A refresh token works once: the answer carries its successor. Presenting
    one that was already used ends the session (RFC 6819 section 5.2.2.3;
    OAuth 2.0 Security BCP, RFC 9700 section 4.14), unless it is a prompt
    retry whose answer was lost (its successor never presented).
    """

    refresh_token: Token
    device_id: Ident
    nonce: Ident
    signature: B64 = Field(description="Ed25519 signature, 64 bytes, base64")


class RefreshResponse(WireModel):
    """New access and refresh tokens of the same session."""

    access_token: Token
    expires_in_s: int
    refresh_token: Token
    session_id: Ident
    session_expires_in_s: int
