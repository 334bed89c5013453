"""The hash-chained audit log, its head and signed checkpoints."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

__all__ = ["AuditEntry", "AuditHead", "Checkpoint"]


class AuditEntry(SQLModel, table=True):
    """One audit entry. ``hash`` = SHA-256 over ``prev_hash`` and the canonical entry.

    ``ts`` is stored as the exact ISO 8601 text that was hashed. ``details``
    is canonical JSON of ids and counts, never personal data.
    """

    seq: int = Field(primary_key=True)
    ts: str = Field(max_length=40)
    actor: str = Field(max_length=80, index=True)
    action: str = Field(max_length=48, index=True)
    object_type: str = Field(default="", max_length=32)
    object_id: str = Field(default="", max_length=64, index=True)
    details: str = "{}"
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """A single row (id 1) holding the chain head; locked to append in order."""

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)


class Checkpoint(SQLModel, table=True):
    """A signed statement of the chain head at ``seq`` (Ed25519, RFC 8032)."""

    seq: int = Field(primary_key=True)
    head_hash: str = Field(max_length=64)
    ts: str = Field(max_length=40)
    signature: bytes
