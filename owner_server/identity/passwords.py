"""Password hashing with Argon2id (RFC 9106) via argon2-cffi."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "generate_password",
    "hash_password",
    "hash_recovery_code",
    "verify_dummy",
    "verify_password",
    "verify_recovery_code",
]

_HASHER = PasswordHasher()  # argon2-cffi defaults follow RFC 9106's second recommendation
#: Recovery codes are 50 random bits, not chosen by people, and up to ten are checked per try:
#: Argon2id at the OWASP Password Storage Cheat Sheet's minimum (19 MiB, 2 passes, 1 lane).
_CODE_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


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


def hash_recovery_code(code: str) -> str:
    """Hash a normalised TOTP recovery code (Argon2id, encoded PHC string)."""
    return _CODE_HASHER.hash(code)


def verify_recovery_code(encoded: str, code: str) -> bool:
    """Check a normalised recovery code against its hash."""
    try:
        return _CODE_HASHER.verify(encoded, code)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_dummy(password: str) -> None:
    """Spend the same work as a real check, for unknown logins (no timing oracle)."""
    verify_password(_dummy_hash(), password)


def generate_password() -> str:
    """A random password of 16 URL-safe characters (~96 bits)."""
    return secrets.token_urlsafe(12)
