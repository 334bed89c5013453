"""AES-256-GCM for data keys and contact fields, with binding associated data.

Every ciphertext is ``nonce (12 bytes) || ciphertext || tag (16 bytes)``.
Random 96-bit nonces: NIST SP 800-38D section 8.3 caps one key at 2**32
encryptions, far above any campaign's field count.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.errors import CustosError

__all__ = [
    "DecryptionError",
    "FieldCipher",
    "decode_payload",
    "encode_payload",
    "unwrap_key",
    "wrap_key",
]

NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionError(CustosError):
    """A ciphertext failed authentication: wrong key, moved or tampered."""


def _ad_for_key(purpose: str, owner: str, version: int, kek_version: int) -> bytes:
    return f"custos-dek-v1|{purpose}|{owner}|{version}|{kek_version}".encode()


def wrap_key(kek: bytes, dek: bytes, *, purpose: str, owner: str, version: int, kek_version: int) -> bytes:
    """Wrap a data key under a key-encryption key.

    Args:
        kek: 32-byte key-encryption key.
        dek: 32-byte data key.
        purpose: ``campaign`` or ``blind_index``.
        owner: The owning object's id as text (campaign id, or ``-``).
        version: The data key's version.
        kek_version: The KEK's version (bound so a wrap cannot be relabelled).

    Returns:
        ``nonce || ciphertext || tag`` (60 bytes).
    """
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, dek, _ad_for_key(purpose, owner, version, kek_version))


def unwrap_key(kek: bytes, wrapped: bytes, *, purpose: str, owner: str, version: int, kek_version: int) -> bytes:
    """Unwrap a data key made by :func:`wrap_key`.

    Raises:
        DecryptionError: Wrong KEK, or the wrapped key was altered or relabelled.
    """
    try:
        return AESGCM(kek).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _ad_for_key(purpose, owner, version, kek_version)
        )
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("a data key could not be unwrapped: wrong key-encryption key or altered data") from exc


class FieldCipher:
    """Encrypts one campaign's contact fields under its data key.

    The associated data binds each ciphertext to (campaign, contact, field),
    so a ciphertext copied to another row or field fails to decrypt.

    Args:
        dek: The campaign's 32-byte data key.
        campaign_id: The campaign's database id.
    """

    __slots__ = ("_aead", "_prefix")

    def __init__(self, dek: bytes, campaign_id: int) -> None:
        if len(dek) != KEY_BYTES:
            raise ValueError("data key must be 32 bytes")
        self._aead = AESGCM(dek)
        self._prefix = f"custos-field-v1|{campaign_id}|".encode()

    def encrypt(self, contact_ref: str, field: str, value: str) -> bytes:
        """Encrypt one field value; returns ``nonce || ct || tag``."""
        nonce = os.urandom(NONCE_BYTES)
        ad = self._prefix + f"{contact_ref}|{field}".encode()
        return nonce + self._aead.encrypt(nonce, value.encode(), ad)

    def decrypt(self, contact_ref: str, field: str, blob: bytes) -> str:
        """Decrypt one field value.

        Raises:
            DecryptionError: Wrong key, or the ciphertext was moved or altered.
        """
        ad = self._prefix + f"{contact_ref}|{field}".encode()
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], ad).decode()
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("a contact field failed authentication") from exc

    def encrypt_fields(self, contact_ref: str, values: Mapping[str, str]) -> bytes:
        """Encrypt every field of a contact into one payload (see :func:`encode_payload`)."""
        return encode_payload({name: self.encrypt(contact_ref, name, v) for name, v in values.items()})

    def decrypt_fields(self, contact_ref: str, payload: bytes) -> dict[str, str]:
        """Decrypt every field of a payload made by :meth:`encrypt_fields`."""
        return {name: self.decrypt(contact_ref, name, blob) for name, blob in decode_payload(payload).items()}


_HEADER = struct.Struct(">BH")  # name length (bytes), ciphertext length (bytes)


def encode_payload(blobs: Mapping[str, bytes]) -> bytes:
    """Pack field name → ciphertext pairs: per field ``u8 len, name, u16 len, blob``.

    Raises:
        ValueError: A name is over 255 bytes or a blob over 65535 bytes.
    """
    parts: list[bytes] = [b"\x01"]
    for name, blob in blobs.items():
        raw = name.encode()
        parts.append(_HEADER.pack(len(raw), len(blob)))
        parts.append(raw)
        parts.append(blob)
    return b"".join(parts)


def decode_payload(payload: bytes) -> dict[str, bytes]:
    """Unpack a payload made by :func:`encode_payload`.

    Raises:
        DecryptionError: The payload is truncated or of an unknown version.
    """
    if not payload or payload[0] != 1:
        raise DecryptionError("unknown contact payload version")
    out: dict[str, bytes] = {}
    pos = 1
    try:
        while pos < len(payload):
            name_len, blob_len = _HEADER.unpack_from(payload, pos)
            pos += _HEADER.size
            name = payload[pos : pos + name_len].decode()
            pos += name_len
            blob = payload[pos : pos + blob_len]
            if len(blob) != blob_len:
                raise DecryptionError("contact payload is truncated")
            pos += blob_len
            out[name] = blob
    except (struct.error, UnicodeDecodeError) as exc:
        raise DecryptionError("contact payload is malformed") from exc
    return out
