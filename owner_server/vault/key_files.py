"""Reading the installation's Ed25519 signing keys from their PEM files (audit checkpoints, watermark codes)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.errors import ValidationError

__all__ = ["load_ed25519_key"]


def load_ed25519_key(path: Path, *, what: str) -> Ed25519PrivateKey:
    """An unencrypted PKCS#8 PEM Ed25519 private key (RFC 8410).

    Args:
        path: The key file.
        what: What the key is for, for the error (e.g. ``"audit signing key"``).

    Returns:
        The key.

    Raises:
        ValidationError: The file is missing, unreadable, not a PEM key, or not Ed25519.
    """
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{what} {path.name} is missing or unreadable") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValidationError(f"{what} is not Ed25519")
    return key
