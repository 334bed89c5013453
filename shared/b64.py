"""Strict base64 of the wire protocol (RFC 4648 section 4), without pydantic (the client uses it at start-up)."""

from __future__ import annotations

import base64
import binascii

from shared.errors import ValidationError

__all__ = ["b64decode_strict", "b64encode"]


def b64encode(data: bytes) -> str:
    """Encode bytes as standard base64 text (RFC 4648 section 4)."""
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: str, *, expected_len: int | None = None) -> bytes:
    """Decode standard base64, rejecting non-alphabet characters.

    Args:
        text: Base64 text.
        expected_len: If given, the decoded length in bytes that is required.

    Returns:
        The decoded bytes.

    Raises:
        ValidationError: The text is not valid base64 or has the wrong length.
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("value is not valid base64") from exc
    if expected_len is not None and len(raw) != expected_len:
        raise ValidationError(f"value must decode to {expected_len} bytes")
    return raw
