"""Password hashing with Argon2id (RFC 9106) via argon2-cffi."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["generate_password", "hash_password", "verify_password", "verify_dummy"]

_HASHER = PasswordHasher()  # argon2-cffi defaults follow RFC 9106's second recommendation


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash("custos-dummy-password")


def hash_password(password: str) -> str:
    """Hash a password (Argon2id, encoded PHC string)."""
    return _HASHER.hash(password)


def verify_password(encoded: str, password: str) -> bool:
    """Check a password against its hash in constant work."""
    try:
        return _HASHER.verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_dummy(password: str) -> None:
    """Spend the same work as a real check, for unknown logins (no timing oracle)."""
    verify_password(_dummy_hash(), password)


def generate_password() -> str:
    """A random password of 16 URL-safe characters (~96 bits)."""
    return secrets.token_urlsafe(12)
