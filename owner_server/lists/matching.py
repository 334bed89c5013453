"""Finding a person's contacts for a lookup: by phone, customer id or contact ref.

Design:
    * Phone: normalised to E.164 with the importer's code
      (:func:`~owner_server.lists.importing.phones.normalise_phone`), then its
      keyed blind index is matched through the ``(campaign_id, phone_bidx)``
      index, one campaign id list (``IN``) so the index is used whether or not a
      campaign is named. Erased contacts never match (their index was
      replaced with random bytes).
    * Customer id: the field is encrypted, so each live campaign is streamed
      and only that field decrypted
      (:func:`~owner_server.lists.customer_scan.scan_customer_id`); an erased
      campaign has no keys left and is skipped.
    * Contact: its ref, in any state (an erased contact's history stays traceable).
    * Staged contacts (an import not yet published) are never matched;
      canary contacts are matched like any other.

The matched ids go to :func:`owner_server.audit.lookup.lookup`, which builds
the histories and audits the lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from owner_server.audit.lookup import LookupKind
from owner_server.core.db import session_scope
from owner_server.identity.admin import get_campaign
from owner_server.lists.customer_scan import SCAN_BATCH, scan_customer_id
from owner_server.lists.importing.phones import PhoneRejected, normalise_phone
from owner_server.lists.visibility import is_visible
from owner_server.models import Campaign, Contact
from owner_server.vault.keys import KeyService
from shared.errors import ValidationError

__all__ = ["ContactMatch", "match_contacts"]


@dataclass(frozen=True, slots=True)
class ContactMatch:
    """The contacts a lookup found.

    Attributes:
        by: What was looked up by.
        contact_ids: Matched contact ids, in id order.
        campaign_id: The campaign it was limited to, or None for all.
    """

    by: LookupKind
    contact_ids: tuple[int, ...]
    campaign_id: int | None


def _campaigns(session: Session, campaign: str | None) -> list[Campaign]:
    if campaign is not None:
        return [get_campaign(session, name=campaign)]
    return list(session.exec(select(Campaign).order_by(col(Campaign.id))).all())


def _by_phone(session: Session, keys: KeyService, *, phone: str, region: str, campaign_ids: list[int]) -> list[int]:
    parsed = normalise_phone(phone, region.upper())  # an unknown region raises ImportFileError (a ValidationError)
    if isinstance(parsed, PhoneRejected):
        raise ValidationError(f"not a valid phone number: {parsed.reason}")
    bidx = keys.indexer(session).phone(parsed.e164)
    stmt = select(Contact.id).where(
        col(Contact.campaign_id).in_(campaign_ids),
        Contact.phone_bidx == bidx,
        is_visible(),
    )
    return [i for i in session.exec(stmt).all() if i is not None]


def _by_ref(session: Session, *, ref: str, campaign_ids: list[int]) -> list[int]:
    stmt = select(Contact.id).where(
        Contact.ref == ref.strip().lower(),
        col(Contact.campaign_id).in_(campaign_ids),
        is_visible(),
    )
    return [i for i in session.exec(stmt).all() if i is not None]


def _by_customer_id(
    engine: Engine, keys: KeyService, *, customer_id: str, campaigns: list[Campaign], batch: int
) -> list[int]:
    wanted = customer_id.strip()
    if not wanted:
        raise ValidationError("the customer id is empty")
    live = [c.id for c in campaigns if c.id is not None and c.erased_at is None]
    found = [m for cid in live for m in scan_customer_id(engine, keys, campaign_id=cid, wanted=wanted, batch=batch)]
    if not found:
        return []
    with session_scope(engine) as session:
        stmt = select(Contact.id).where(col(Contact.id).in_(found), is_visible())
        return [i for i in session.exec(stmt).all() if i is not None]


def match_contacts(
    engine: Engine,
    keys: KeyService,
    *,
    phone: str | None = None,
    customer_id: str | None = None,
    contact_ref: str | None = None,
    campaign: str | None = None,
    region: str = "PL",
    batch: int = SCAN_BATCH,
) -> ContactMatch:
    """Find the contacts of one person (exactly one of ``phone``, ``customer_id``, ``contact_ref``).

    Args:
        engine: Database engine.
        keys: Key service (blind-index key; campaign keys for a customer id).
        phone: The number as a person wrote it (any common format).
        customer_id: The owner's customer id (compared after stripping spaces).
        contact_ref: A contact's ref (32 hex characters).
        campaign: Only this campaign; all when None.
        region: Region of a national phone number (ISO 3166, e.g. ``PL``).
        batch: Contacts decrypted per query in a customer-id scan.

    Returns:
        The matched ids (none is a valid answer).

    Raises:
        ValidationError: Not exactly one key given, a phone that is not a valid
            number, an unknown region, or an empty customer id.
        NotFoundError: Unknown campaign.
    """
    given = [v for v in (phone, customer_id, contact_ref) if v is not None]
    if len(given) != 1:
        raise ValidationError("give exactly one of --phone, --customer-id and --contact")
    with session_scope(engine) as session:  # one short transaction for a phone or a ref
        camps = _campaigns(session, campaign)
        ids = [c.id for c in camps if c.id is not None]
        if phone is not None:
            found, by = _by_phone(session, keys, phone=phone, region=region, campaign_ids=ids), LookupKind.PHONE
        elif contact_ref is not None:
            found, by = _by_ref(session, ref=contact_ref, campaign_ids=ids), LookupKind.CONTACT
    if customer_id is not None:
        found = _by_customer_id(engine, keys, customer_id=customer_id, campaigns=camps, batch=batch)
        by = LookupKind.CUSTOMER_ID
    return ContactMatch(by, tuple(sorted(found)), camps[0].id if campaign is not None else None)
