"""Keyed blind index of phone numbers (HMAC-SHA256, RFC 2104).

Lets the server find duplicates and DNC matches without decrypting, while a
copy of the database without the key reveals nothing (a plain hash of a
9-digit number space would be brute-forced in seconds; a keyed one cannot).
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["BlindIndexer"]


class BlindIndexer:
    """Computes blind indexes under the installation's index key.

    Args:
        key: 32-byte blind-index key.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("blind-index key must be 32 bytes")
        self._key = key

    def phone(self, e164: str) -> bytes:
        """Index of an E.164 number (``+48...``); 32 bytes."""
        return hmac.new(self._key, b"phone|" + e164.encode("ascii"), hashlib.sha256).digest()
