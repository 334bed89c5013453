"""Erasure: make contacts' personal data unrecoverable, on request or by retention.

Design:
    * **Contact erasure** (:func:`erase_by_phone`, :func:`erase_by_customer_id`)
      empties the contact's ``payload`` (every encrypted field), replaces its
      ``phone_bidx`` with random bytes (the number can no longer be matched),
      sets the state to ``erased`` and closes any open lease, in one transaction
      with one ``contact_erased`` audit entry per contact (ref, reason code, how it
      was matched, and the id and hash of the owner's encrypted free-text note when
      one was given: :mod:`owner_server.lists.erasure_notes`). The row keeps its
      ref, state, attempts and outcomes, so the audit trail and reports still
      resolve; no personal data remains in it.
    * **Campaign erasure** (:func:`erase_campaign`, and retention) is
      crypto-shredding: every data key of the campaign is destroyed (``wrapped``
      emptied, ``destroyed_at`` set), its contacts are erased as above in bulk,
      open leases close, its erasure notes are deleted and ``erased_at`` is set,
      with one ``campaign_erased`` entry. Distribution refuses erased campaigns, so their agents get nothing.
    * **Retention** (:mod:`owner_server.lists.retention`) erases campaigns
      this way once their ``ends_at`` plus ``retention_days`` has passed.
    * Afterwards old page images are flushed (:func:`scrub_storage`): SQLite
      runs with ``secure_delete`` and gets ``PRAGMA wal_checkpoint(TRUNCATE)``;
      PostgreSQL gets a plain ``VACUUM`` of the contact table.

Limits:
    * One contact is *deleted*, not crypto-shredded: its ciphertexts were made
      with the campaign key, which lives on. Copies outside the live row stay
      decryptable by whoever also holds the KEK until the campaign is erased:
      database backups, PostgreSQL WAL/archives and page free space (plain
      ``VACUUM`` does not zero it), the SQLite WAL when a reader blocked the
      checkpoint (reported as ``storage_scrubbed=False``), filesystem blocks.
    * A campaign's erasure leaves its ciphertexts useless everywhere except
      with a backup taken before it (which holds the wrapped key) *and* the
      KEK; to shred those too, run ``keys rotate`` then ``keys retire`` the old
      KEK version.
    * Another server process that already unwrapped the key keeps it in memory
      until it restarts; campaign erasure and retention drop the cache of the
      key service they are given.
    * ``erase_by_phone`` matches the main phone's blind index only; a number held
      only in a further slot (``phone2`` … ``phone9``) is not found (erase that contact by customer id).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from owner_server.audit import log as audit
from owner_server.core.db import session_scope
from owner_server.identity.admin import get_campaign
from owner_server.lists.customer_scan import SCAN_BATCH, scan_customer_id
from owner_server.lists.erasure_notes import check_note, drop_campaign_notes, store_notes
from owner_server.lists.importing.phones import PhoneRejected, normalise_phone
from owner_server.lists.storage_scrub import scrub_storage
from owner_server.models import Campaign, Contact, ContactState, DataKey, Disposition, Lease
from owner_server.models._common import utcnow
from owner_server.vault.keys import PURPOSE_CAMPAIGN, KeyService
from shared.errors import ValidationError

__all__ = [
    "CampaignErasure",
    "ContactErasure",
    "ErasureReason",
    "erase_by_customer_id",
    "erase_by_phone",
    "erase_campaign",
    "erase_campaign_in",
    "scan_customer_id",
    "scrub_storage",
]


class ErasureReason(StrEnum):
    """Why data is erased: a closed set of codes, so audit details never hold free text.

    The owner's own words go in a note (:mod:`owner_server.lists.erasure_notes`),
    stored encrypted beside the log.
    """

    DATA_SUBJECT_REQUEST = "data_subject_request"
    OBJECTION = "objection"
    RETENTION = "retention"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ContactErasure:
    """What a contact erasure did (refs and counts only).

    Attributes:
        contact_refs: Refs of the contacts erased now.
        leases_closed: Open leases closed.
        storage_scrubbed: True when old page images were flushed afterwards.
        note_refs: Ids of the encrypted notes stored (one per campaign touched; none without a note).
    """

    contact_refs: tuple[str, ...]
    leases_closed: int = 0
    storage_scrubbed: bool = False
    note_refs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CampaignErasure:
    """What a campaign erasure did.

    Attributes:
        campaign: The campaign's name.
        campaign_id: Its id.
        already_erased: True when it had been erased before (nothing done).
        data_keys_destroyed: Data keys destroyed now.
        contacts_erased: Contacts erased now.
        leases_closed: Open leases closed.
        storage_scrubbed: True when old page images were flushed afterwards.
    """

    campaign: str
    campaign_id: int
    already_erased: bool
    data_keys_destroyed: int = 0
    contacts_erased: int = 0
    leases_closed: int = 0
    storage_scrubbed: bool = False


def _rowcount(result: object) -> int:
    return cast(CursorResult[Any], result).rowcount


def _close_leases(session: Session, where: ColumnElement[bool], now: datetime) -> int:
    stmt = update(Lease).where(where, col(Lease.closed_at).is_(None)).values(closed_at=now)
    return _rowcount(session.execute(stmt.execution_options(synchronize_session=False)))


def _drop_notes(session: Session, where: ColumnElement[bool]) -> None:
    """Empty the outcome notes of erased contacts (free text an agent wrote about the person)."""
    stmt = update(Disposition).where(where, col(Disposition.notes).is_not(None)).values(notes=None)
    session.execute(stmt.execution_options(synchronize_session=False))


def _campaign_ids(session: Session, campaign: str | None) -> list[int]:
    """Live campaign ids: the named one (NotFoundError if unknown) or all."""
    if campaign is not None:
        found = get_campaign(session, name=campaign)
        return [found.id] if found.id is not None and found.erased_at is None else []
    live = session.exec(select(Campaign.id).where(col(Campaign.erased_at).is_(None))).all()
    return [i for i in live if i is not None]


def _erase_contacts(  # noqa: PLR0913 - the erasure's what, why, who, and its note
    session: Session,
    contacts: Sequence[Contact],
    *,
    reason: ErasureReason,
    matched_by: str,
    actor: str,
    keys: KeyService,
    note: str | None,
) -> ContactErasure:
    now, refs, closed = utcnow(), [], 0
    notes = {}
    if note is not None and contacts:
        notes = store_notes(session, keys, note=note, campaign_ids={c.campaign_id for c in contacts}, actor=actor)
    for contact in contacts:
        assert contact.id is not None
        contact.payload = b""
        contact.phone_bidx = os.urandom(32)
        contact.state = ContactState.ERASED
        session.add(contact)
        here = _close_leases(session, col(Lease.contact_id) == contact.id, now)
        _drop_notes(session, col(Disposition.contact_id) == contact.id)
        audit.append(
            session,
            actor=actor,
            action="contact_erased",
            object_type="contact",
            object_id=contact.ref,
            details={
                "reason": reason.value,
                "matched_by": matched_by,
                "campaign_id": contact.campaign_id,
                "leases_closed": here,
                **_note_details(notes.get(contact.campaign_id)),
            },
        )
        refs.append(contact.ref)
        closed += here
    return ContactErasure(tuple(refs), closed, note_refs=tuple(ref for ref, _ in notes.values()))


def _note_details(note: tuple[str, str] | None) -> dict[str, str]:
    return {} if note is None else {"note_id": note[0], "note_sha256": note[1]}


def _after(engine: Engine, report: ContactErasure) -> ContactErasure:
    return replace(report, storage_scrubbed=scrub_storage(engine)) if report.contact_refs else report


def erase_by_phone(
    engine: Engine,
    keys: KeyService,
    *,
    phone: str,
    actor: str,
    region: str = "PL",
    campaign: str | None = None,
    reason: ErasureReason = ErasureReason.DATA_SUBJECT_REQUEST,
    note: str | None = None,
) -> ContactErasure:
    """Erase every live contact whose main phone is ``phone`` (any common format).

    Args:
        engine: Database engine.
        keys: Key service (blind-index key).
        phone: The number as a person wrote it; normalised to E.164.
        actor: Who erases, for the audit log.
        region: Region of a national number (ISO 3166).
        campaign: Limit to this campaign; all campaigns when None.
        reason: Why, recorded in the audit log.
        note: Free text on the erasure (may hold personal data): checked by
            :func:`.erasure_notes.check_note`, stored encrypted, referenced from
            each ``contact_erased`` entry by id and hash; not stored when nothing matched.

    Returns:
        The refs erased (none when nothing matched).

    Raises:
        ValidationError: The phone, region or note is not valid (nothing changed).
        NotFoundError: Unknown campaign (nothing changed).
    """
    note = check_note(note)
    parsed = normalise_phone(phone, region.upper())
    if isinstance(parsed, PhoneRejected):
        raise ValidationError(parsed.reason)
    with session_scope(engine) as session:
        ids = _campaign_ids(session, campaign)
        bidx = keys.indexer(session).phone(parsed.e164)
        stmt = select(Contact).where(
            Contact.phone_bidx == bidx, col(Contact.campaign_id).in_(ids), col(Contact.state) != ContactState.ERASED
        )
        found = session.exec(stmt.order_by(col(Contact.id)).with_for_update()).all()
        report = _erase_contacts(session, found, reason=reason, matched_by="phone", actor=actor, keys=keys, note=note)
    return _after(engine, report)


def erase_by_customer_id(
    engine: Engine,
    keys: KeyService,
    *,
    customer_id: str,
    actor: str,
    campaign: str | None = None,
    reason: ErasureReason = ErasureReason.DATA_SUBJECT_REQUEST,
    note: str | None = None,
    batch: int = SCAN_BATCH,
) -> ContactErasure:
    """Erase every live contact whose ``customer_id`` field equals ``customer_id``.

    The customer id is encrypted, so each campaign is streamed in batches and
    only that field is decrypted; matches are erased in one transaction. The
    ``note`` is as :func:`erase_by_phone` takes it.

    Raises:
        ValidationError: The customer id or the note is empty or not valid (nothing changed).
        NotFoundError: Unknown campaign (nothing changed).
    """
    wanted, note = customer_id.strip(), check_note(note)
    if not wanted:
        raise ValidationError("the customer id is empty")
    with session_scope(engine) as session:
        ids = _campaign_ids(session, campaign)
    matches = [m for cid in ids for m in scan_customer_id(engine, keys, campaign_id=cid, wanted=wanted, batch=batch)]
    if not matches:
        return ContactErasure(())
    with session_scope(engine) as session:
        stmt = select(Contact).where(col(Contact.id).in_(matches), col(Contact.state) != ContactState.ERASED)
        found = session.exec(stmt.order_by(col(Contact.id)).with_for_update()).all()
        report = _erase_contacts(
            session, found, reason=reason, matched_by="customer_id", actor=actor, keys=keys, note=note
        )
    return _after(engine, report)


def erase_campaign_in(
    session: Session, campaign: Campaign, *, reason: ErasureReason, actor: str, batch: int = 2000
) -> CampaignErasure:
    """Erase a campaign inside the caller's transaction (see :func:`erase_campaign`).

    The caller drops cached keys and scrubs storage after committing.
    """
    assert campaign.id is not None
    if campaign.erased_at is not None:
        return CampaignErasure(campaign.name, campaign.id, already_erased=True)
    now = utcnow()
    destroyed = _rowcount(
        session.execute(
            update(DataKey)
            .where(
                col(DataKey.purpose) == PURPOSE_CAMPAIGN,
                col(DataKey.campaign_id) == campaign.id,
                col(DataKey.destroyed_at).is_(None),
            )
            .values(wrapped=b"", destroyed_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    erased, last = 0, 0
    while ids := session.exec(
        select(Contact.id)
        .where(Contact.campaign_id == campaign.id, col(Contact.state) != ContactState.ERASED, col(Contact.id) > last)
        .order_by(col(Contact.id))
        .limit(batch)
    ).all():
        session.execute(
            update(Contact),
            [{"id": i, "payload": b"", "phone_bidx": os.urandom(32), "state": ContactState.ERASED} for i in ids],
        )
        _drop_notes(session, col(Disposition.contact_id).in_(ids))
        erased, last = erased + len(ids), cast(int, ids[-1])
    closed = _close_leases(session, col(Lease.campaign_id) == campaign.id, now)
    notes = drop_campaign_notes(session, campaign_id=campaign.id)
    campaign.erased_at = now
    session.add(campaign)
    audit.append(
        session,
        actor=actor,
        action="campaign_erased",
        object_type="campaign",
        object_id=str(campaign.id),
        details={
            "reason": reason.value,
            "data_keys_destroyed": destroyed,
            "contacts_erased": erased,
            "leases_closed": closed,
            **({"erasure_notes_removed": notes} if notes else {}),
        },
    )
    return CampaignErasure(campaign.name, campaign.id, False, destroyed, erased, closed)


def erase_campaign(
    engine: Engine,
    keys: KeyService,
    *,
    name: str,
    actor: str,
    reason: ErasureReason = ErasureReason.OTHER,
    batch: int = 2000,
) -> CampaignErasure:
    """Crypto-shred a campaign: destroy its data keys and erase its contacts, in one transaction.

    Erasing an erased campaign changes nothing and says so (``already_erased``).

    Raises:
        NotFoundError: Unknown campaign (nothing changed).
    """
    with session_scope(engine) as session:
        result = erase_campaign_in(session, get_campaign(session, name=name), reason=reason, actor=actor, batch=batch)
    keys.forget_cached()
    return result if result.already_erased else replace(result, storage_scrubbed=scrub_storage(engine))
