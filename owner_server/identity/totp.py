"""TOTP second factor of console users (RFC 6238), its secret encrypted at rest, and its QR code.

Codes are what authenticator apps make by default: HMAC-SHA-1, 6 digits,
30-second steps (RFC 6238 section 4; the ``otpauth://`` URI of Google
Authenticator's "Key Uri Format"). A code is accepted one step either side
of now (clock drift, RFC 6238 section 5.2), and never twice: the step of
the last accepted code is stored and no step at or before it is accepted
again. The 20-byte secret (RFC 4226 section 4 asks for at least 128 bits)
is stored only AES-256-GCM encrypted under the installation's secrets key
(:meth:`owner_server.vault.keys.KeyService.secret_box`, itself wrapped by
the KEK), bound to the user by the associated data ``totp|<user ref>``.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime

import segno
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlmodel import Session

from owner_server.models import User
from owner_server.vault.keys import KeyService

__all__ = [
    "DIGITS",
    "SECRET_BYTES",
    "STEP_S",
    "accepted_step",
    "base32_text",
    "code_at",
    "load_secret",
    "provisioning_uri",
    "qr_svg",
    "store_secret",
]

DIGITS = 6
STEP_S = 30
SECRET_BYTES = 20
#: Steps accepted either side of the current one.
WINDOW = 1


def _totp(secret: bytes) -> TOTP:
    return TOTP(secret, DIGITS, SHA1(), STEP_S)  # noqa: S303 - SHA-1 is what RFC 6238 apps use; HMAC-SHA-1 is sound


def new_secret() -> bytes:
    """A fresh random TOTP secret (20 bytes from the OS CSPRNG)."""
    return os.urandom(SECRET_BYTES)


def base32_text(secret: bytes) -> str:
    """The secret as people type it into an app: base32 without padding (RFC 4648 section 6), 32 letters."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def provisioning_uri(secret: bytes, *, login: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads from the QR code.

    Args:
        secret: The raw secret.
        login: The account name shown in the app.
        issuer: The installation's organisation (``Settings.organisation``).
    """
    return _totp(secret).get_provisioning_uri(login, issuer or "Custos")


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (segno): no XML declaration, no namespace, no ``style`` attribute (CSP)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, svgclass="qr-code", lineclass=None, omitsize=False))


def code_at(secret: bytes, when: datetime) -> str:
    """The code of ``when``'s time step (for tests and the CLI's own checks)."""
    return _totp(secret).generate(int(when.timestamp())).decode("ascii")


def accepted_step(secret: bytes, code: str, *, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` is right for, within one step of ``now`` and after ``last_step``; None otherwise.

    Args:
        secret: The raw secret.
        code: What the user typed (spaces are ignored).
        now: The current time (UTC).
        last_step: The step of the last accepted code (``User.totp_last_step``); no step up to it is accepted.

    Returns:
        The matching step (store it as ``User.totp_last_step``), or None.
    """
    code = "".join(code.split())
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    current = int(now.timestamp()) // STEP_S
    totp = _totp(secret)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        try:
            totp.verify(code.encode("ascii"), step * STEP_S)
        except InvalidToken:
            continue
        return step
    return None


def _associated_data(user: User) -> bytes:
    return b"totp|" + user.ref.encode("ascii")


def store_secret(session: Session, *, keys: KeyService, user: User, secret: bytes | None) -> None:
    """Store ``secret`` encrypted on ``user`` (None clears it); the caller's transaction commits it."""
    user.totp_secret = (
        None if secret is None else keys.secret_box(session).encrypt(secret, associated_data=_associated_data(user))
    )
    session.add(user)


def load_secret(session: Session, *, keys: KeyService, user: User) -> bytes | None:
    """The user's decrypted secret (None when it has none).

    Raises:
        DecryptionError: The stored secret does not decrypt (moved to another user, altered, wrong KEK).
    """
    if user.totp_secret is None:
        return None
    return keys.secret_box(session).decrypt(user.totp_secret, associated_data=_associated_data(user))
