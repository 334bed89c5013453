"""Keyed blind index of phone numbers (HMAC-SHA256, RFC 2104).

Lets the server find duplicates and DNC matches without decrypting, while a
copy of the database without the key reveals nothing (a plain hash of a
9-digit number space would be brute-forced in seconds; a keyed one cannot).
"""

from __future__ import annotations

import hashlib

__all__ = ["BlindIndexer"]

_BLOCK = 64  # SHA-256's block size in bytes (FIPS 180-4), the B of RFC 2104
_IPAD = bytes(0x36 for _ in range(_BLOCK))
_OPAD = bytes(0x5C for _ in range(_BLOCK))


def _xor(key: bytes, pad: bytes) -> bytes:
    return bytes(k ^ p for k, p in zip(key.ljust(_BLOCK, b"\0"), pad, strict=True))


class BlindIndexer:
    """Computes blind indexes under the installation's index key.

    HMAC-SHA256 as RFC 2104 section 2 defines it, ``H(K ^ opad, H(K ^ ipad, m))``
    with the 32-byte key zero-padded to the 64-byte block, the same bytes as
    ``hmac.new(key, m, hashlib.sha256).digest()``. The two hash states after
    the padded keys are computed once and copied for every message, which
    halves the cost of an index (an import computes a million of them).

    Pickles as its key (for the import's worker processes); never pickle one
    to storage or a log.

    Args:
        key: 32-byte blind-index key.
    """

    __slots__ = ("_inner", "_key", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("blind-index key must be 32 bytes")
        self._key = key
        self._inner = hashlib.sha256(_xor(key, _IPAD))
        self._outer = hashlib.sha256(_xor(key, _OPAD))

    def __reduce__(self) -> tuple[type[BlindIndexer], tuple[bytes]]:
        """Pickle as the key (hash states do not pickle)."""
        return (BlindIndexer, (self._key,))

    def __repr__(self) -> str:
        """Never show the key."""
        return "BlindIndexer()"

    def phone(self, e164: str) -> bytes:
        """Index of an E.164 number (``+48...``); 32 bytes."""
        inner = self._inner.copy()
        inner.update(b"phone|" + e164.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()
