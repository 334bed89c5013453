"""Signed watermark codes: which agent was issued which lease, and when, in a QR small enough to photograph.

Every record the server issues carries a code that the client draws as a QR
over the record (``RecordView.watermark_code``). A photo or screenshot of the
screen then points at one agent and one issuance: ``custos-server watermark
decode`` reads the QR back, checks the signature with this installation's key
and looks the lease up.

Token layout (89 bytes, big-endian)::

    offset  size  field
    0       1     version (1)
    1       4     agent id (the user's database id, unsigned)
    5       16    lease id (its 32 hex digits as bytes)
    21      4     issued at (Unix seconds, unsigned)
    25      64    Ed25519 signature over CONTEXT || bytes 0..24 (RFC 8032, section 5.1)

It holds ids and a time only: no name, no phone number, no field of the
contact. In the QR it travels as bytes (byte mode, error correction M: a
version 6 symbol of 41 x 41 modules); on the wire as standard base64.

The signing key is per installation (``keys/watermark-signing.pem``,
Ed25519, 0600), separate from the audit checkpoint key; it is made at
``init`` and, for an installation that predates it, on first use.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from owner_server.vault.key_files import load_ed25519_key
from shared.errors import ValidationError
from shared.protocol import b64decode_strict, b64encode

__all__ = [
    "CONTEXT",
    "KEY_FILE",
    "TOKEN_LEN",
    "VERSION",
    "ForgedCodeError",
    "WatermarkClaims",
    "decode_code",
    "encode_code",
    "load_watermark_key",
    "read_claims",
    "sign_claims",
    "verify_token",
]

VERSION = 1
#: Domain separation: a signature made for anything else never verifies as a watermark.
CONTEXT = b"custos-watermark-v1\x00"
KEY_FILE = Path("keys") / "watermark-signing.pem"
_BODY = struct.Struct(">BI16sI")
_SIG_LEN = 64
TOKEN_LEN = _BODY.size + _SIG_LEN
_LEASE_ID = re.compile(r"^[0-9a-f]{32}$")


class ForgedCodeError(ValidationError):
    """The code is well formed but not signed by this installation's watermark key."""


@dataclass(frozen=True, slots=True)
class WatermarkClaims:
    """What a watermark code says.

    Attributes:
        agent_id: The agent's user id (database id, 0 .. 2**32 - 1).
        lease_id: The lease's id (32 lowercase hex digits).
        issued_at: When the lease was issued (UTC, whole seconds).
    """

    agent_id: int
    lease_id: str
    issued_at: datetime


def _body(claims: WatermarkClaims) -> bytes:
    if not _LEASE_ID.match(claims.lease_id):
        raise ValidationError("a watermark lease id must be 32 hex digits")
    if not 0 <= claims.agent_id < 2**32:
        raise ValidationError("a watermark agent id must fit 32 bits")
    seconds = int(claims.issued_at.timestamp())
    if not 0 <= seconds < 2**32:
        raise ValidationError("a watermark time must be between 1970 and 2106")
    return _BODY.pack(VERSION, claims.agent_id, bytes.fromhex(claims.lease_id), seconds)


def sign_claims(key: Ed25519PrivateKey, claims: WatermarkClaims) -> bytes:
    """The signed token of ``claims`` (:data:`TOKEN_LEN` bytes; Ed25519 is deterministic: same claims, same token).

    Raises:
        ValidationError: A claim does not fit the layout (lease id not 32 hex digits, id or time out of range).
    """
    body = _body(claims)
    return body + key.sign(CONTEXT + body)


def read_claims(token: bytes) -> WatermarkClaims:
    """Parse a token's claims WITHOUT checking its signature (see :func:`verify_token`).

    Raises:
        ValidationError: Not a token of this layout and version.
    """
    if len(token) != TOKEN_LEN:
        raise ValidationError("not a Custos watermark code (wrong length)")
    version, agent_id, lease, seconds = _BODY.unpack_from(token)
    if version != VERSION:
        raise ValidationError(f"unknown watermark code version {version}")
    return WatermarkClaims(agent_id=agent_id, lease_id=lease.hex(), issued_at=datetime.fromtimestamp(seconds, UTC))


def verify_token(public_key: Ed25519PublicKey, token: bytes) -> WatermarkClaims:
    """Check a token's signature and return its claims.

    Args:
        public_key: The installation's watermark public key.
        token: The raw token (as read from the QR).

    Returns:
        The claims, once the signature checks out.

    Raises:
        ValidationError: Not a token of this layout and version.
        ForgedCodeError: The signature is not this installation's (forged, altered, or another installation's).
    """
    claims = read_claims(token)
    body, signature = token[: _BODY.size], token[_BODY.size :]
    try:
        public_key.verify(signature, CONTEXT + body)
    except InvalidSignature:
        raise ForgedCodeError("the watermark code is not signed by this installation") from None
    return claims


def encode_code(token: bytes) -> str:
    """The token as the wire carries it (standard base64, RFC 4648 section 4)."""
    return b64encode(token)


def decode_code(text: str) -> bytes:
    """The raw token of a wire code.

    Raises:
        ValidationError: Not base64 of :data:`TOKEN_LEN` bytes.
    """
    return b64decode_strict(text, expected_len=TOKEN_LEN)


def _load(path: Path) -> Ed25519PrivateKey:
    return load_ed25519_key(path, what="watermark signing key")


def load_watermark_key(data_dir: Path, *, create: bool = True) -> Ed25519PrivateKey:
    """The installation's watermark signing key, made (0600, written whole, then linked in) if missing and ``create``.

    Args:
        data_dir: The installation's data dir.
        create: Make the key when there is none (the server, ``init``); False to only read it (``decode``).

    Returns:
        The Ed25519 private key.

    Raises:
        ValidationError: The key file is unreadable or not Ed25519, or missing and ``create`` is False.
    """
    path = data_dir / KEY_FILE
    if path.exists() or not create:
        if not path.exists():
            raise ValidationError("this installation has no watermark key yet: it never issued a watermark code")
        return _load(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)  # atomic, and never replaces a key another server process made first
    except FileExistsError:
        return _load(path)
    finally:
        tmp.unlink(missing_ok=True)
    return key
