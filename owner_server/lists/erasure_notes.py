"""The owner's free-text note on an erasure: encrypted in its own table, referenced from the audit log.

A note may hold personal data (a data subject's words, "asked by phone on
2 May"), so it never goes into the audit chain, a log or an error in clear.

Design:
    * :func:`check_note` bounds it (1 to :data:`MAX_NOTE_CHARS` characters after
      trimming, no control characters but line breaks and tabs) and puts it in
      NFC; its errors never quote it.
    * :func:`store_notes` writes one :class:`~owner_server.models.ErasureNote`
      per campaign the erasure touched, in the erasure's transaction: the text
      encrypted with AES-256-GCM under the installation's ``secrets`` data key
      (KEK-wrapped, rewrapped by ``keys rotate``; see
      :meth:`~owner_server.vault.keys.KeyService.secret_box`), bound to the note's
      ref as associated data. Each ``contact_erased`` entry carries ``note_id``
      (the ref) and ``note_sha256``: SHA-256 over a domain tag, the ref and the
      note (:func:`note_digest`), so a changed or swapped note no longer matches
      the chained entry, and equal notes hash differently per erasure.
    * :func:`read_note` (``custos-server erasure show REF``) decrypts it for an
      owner admin, checks it against every entry that references it, and is
      audited ``erasure_note_read``.
    * :func:`drop_campaign_notes` deletes a campaign's notes when the campaign is
      erased (its keys destroyed), with its contacts: the audit entries keep only
      the ref and the hash, which say nothing without the note.

Limits:
    * Before its campaign is erased, a note is as recoverable as the campaign's
      contacts: from a backup together with the KEK, until that KEK version is
      retired (``keys rotate`` then ``keys retire``).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from owner_server.audit import log as audit
from owner_server.core.db import session_scope
from owner_server.models import AuditEntry, Campaign, ErasureNote
from owner_server.models._common import new_ref
from owner_server.vault.keys import KeyService
from shared.errors import NotFoundError, ValidationError

__all__ = ["MAX_NOTE_CHARS", "NoteView", "check_note", "drop_campaign_notes", "note_digest", "read_note", "store_notes"]

#: Longest note kept, in characters (after trimming).
MAX_NOTE_CHARS = 2000
_ALLOWED_CONTROLS = frozenset("\n\t")
_DIGEST_TAG = b"custos-erasure-note-v1\n"


def check_note(note: str | None) -> str | None:
    """The note as it will be stored, or None when none was given.

    Args:
        note: The text given with ``--note`` (or the console's field); None or
            blank-only from the console means no note.

    Returns:
        The note trimmed and in NFC, or None.

    Raises:
        ValidationError: Empty (given but blank, from the CLI), too long, or holding
            control characters; the message never quotes the note.
    """
    if note is None:
        return None
    text = unicodedata.normalize("NFC", note.replace("\r\n", "\n").strip())
    if not text:
        raise ValidationError("the note is empty; leave --note out or write the note")
    if len(text) > MAX_NOTE_CHARS:
        raise ValidationError(f"the note is {len(text)} characters; at most {MAX_NOTE_CHARS} are kept")
    if any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in text):
        raise ValidationError("the note holds control characters; only line breaks and tabs are allowed")
    return text


def note_digest(ref: str, note: str) -> str:
    """SHA-256 (hex) of a note as its audit entries carry it: over a tag, the note's ref and its UTF-8 text."""
    return hashlib.sha256(_DIGEST_TAG + ref.encode("ascii") + b"\n" + note.encode("utf-8")).hexdigest()


def _associated(ref: str) -> bytes:
    return b"erasure-note|" + ref.encode("ascii")


def store_notes(
    session: Session, keys: KeyService, *, note: str, campaign_ids: Iterable[int], actor: str
) -> dict[int, tuple[str, str]]:
    """Encrypt and store ``note`` once per campaign, in the caller's transaction.

    Args:
        session: The erasure's transaction.
        keys: Key service (the ``secrets`` data key).
        note: A note passed through :func:`check_note`.
        campaign_ids: The campaigns whose contacts the erasure touched.
        actor: Who erases.

    Returns:
        Campaign id → (note ref, note SHA-256) for the audit details.
    """
    box = keys.secret_box(session)
    refs: dict[int, tuple[str, str]] = {}
    for campaign_id in sorted(set(campaign_ids)):
        ref = new_ref()
        blob = box.encrypt(note.encode("utf-8"), associated_data=_associated(ref))
        digest = note_digest(ref, note)
        session.add(ErasureNote(ref=ref, campaign_id=campaign_id, actor=actor, sha256=digest, ciphertext=blob))
        refs[campaign_id] = (ref, digest)
    session.flush()
    return refs


def drop_campaign_notes(session: Session, *, campaign_id: int) -> int:
    """Delete the erasure notes of a campaign being erased; returns how many."""
    result = session.execute(
        delete(ErasureNote)
        .where(col(ErasureNote.campaign_id) == campaign_id)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


@dataclass(frozen=True, slots=True)
class NoteView:
    """An erasure note as an owner admin reads it.

    Attributes:
        ref: The note's id (``note_id`` in the audit entries).
        campaign: The campaign's name.
        actor: Who wrote it.
        created_at: When (UTC).
        note: The text.
        contact_refs: Refs of the contacts whose ``contact_erased`` entry references it.
        intact: True when the text hashes to what the note row and every referencing entry carry.
    """

    ref: str
    campaign: str
    actor: str
    created_at: datetime
    note: str
    contact_refs: tuple[str, ...]
    intact: bool


def read_note(engine: Engine, keys: KeyService, *, ref: str, actor: str) -> NoteView:
    """Decrypt a note, check it against the audit entries that reference it, and audit the reading.

    Args:
        engine: Database engine.
        keys: Key service.
        ref: The note's id, as ``contact_erased`` entries give it.
        actor: Who reads, for the audit log (``erasure_note_read``).

    Returns:
        The note and whether it is intact.

    Raises:
        NotFoundError: No such note (never written, or removed when its campaign was erased).
        DecryptionError: The stored ciphertext was altered or moved to another row.
    """
    wanted = ref.strip().lower()
    with session_scope(engine) as session:
        row = session.exec(select(ErasureNote).where(ErasureNote.ref == wanted)).first() if wanted.isalnum() else None
        if row is None:
            raise NotFoundError("no erasure note has that id (a campaign's notes go when the campaign is erased)")
        text = keys.secret_box(session).decrypt(row.ciphertext, associated_data=_associated(row.ref)).decode("utf-8")
        entries = session.exec(
            select(AuditEntry.object_id, AuditEntry.details).where(
                AuditEntry.action == "contact_erased", col(AuditEntry.details).contains(f'"note_id":"{row.ref}"')
            )
        ).all()
        digest = note_digest(row.ref, text)
        hashes = {json.loads(details).get("note_sha256") for _, details in entries}
        campaign = session.get(Campaign, row.campaign_id)
        audit.append(
            session,
            actor=actor,
            action="erasure_note_read",
            object_type="erasure_note",
            object_id=row.ref,
            details={"campaign_id": row.campaign_id},
        )
        return NoteView(
            ref=row.ref,
            campaign=campaign.name if campaign is not None else str(row.campaign_id),
            actor=row.actor,
            created_at=row.created_at,
            note=text,
            contact_refs=tuple(object_id for object_id, _ in entries),
            intact=bool(entries) and row.sha256 == digest and hashes == {digest},
        )
