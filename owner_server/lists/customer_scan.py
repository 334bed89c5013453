"""Find a campaign's contacts by customer id: the field is encrypted, so it is decrypted in batches."""

from __future__ import annotations

from typing import cast

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from owner_server.core.db import session_scope
from owner_server.models import Contact, ContactState
from owner_server.vault.aead import FieldCipher, decode_payload
from owner_server.vault.keys import KeyService

__all__ = ["SCAN_BATCH", "scan_customer_id"]

#: Contacts read per query.
SCAN_BATCH = 1000


def scan_customer_id(engine: Engine, keys: KeyService, *, campaign_id: int, wanted: str, batch: int) -> list[int]:
    """Ids of a campaign's live contacts whose customer id is ``wanted``; decrypts that field only.

    Streams the campaign in batches of ``batch`` by id, each in its own short
    transaction (agents keep working), so no whole-campaign list is held.

    Args:
        engine: Database engine.
        keys: Key service (the campaign's data keys).
        campaign_id: The campaign to scan (not erased: its keys must exist).
        wanted: The customer id, stripped.
        batch: Contacts read per query.

    Returns:
        Matching contact ids in id order (erased contacts never match).
    """
    found: list[int] = []
    ciphers: dict[int, FieldCipher] = {}
    last = 0
    while True:
        with session_scope(engine) as session:
            rows = session.exec(
                select(Contact.id, Contact.ref, Contact.data_key_id, Contact.payload)
                .where(
                    Contact.campaign_id == campaign_id,
                    col(Contact.state) != ContactState.ERASED,
                    col(Contact.id) > last,
                )
                .order_by(col(Contact.id))
                .limit(batch)
            ).all()
            for data_key_id in {row[2] for row in rows} - ciphers.keys():
                ciphers[data_key_id] = keys.cipher_for(session, data_key_id=data_key_id)
        if not rows:
            return found
        for contact_id, ref, data_key_id, payload in rows:
            blob = decode_payload(payload).get("customer_id")
            if blob is not None and ciphers[data_key_id].decrypt(ref, "customer_id", blob).strip() == wanted:
                found.append(cast(int, contact_id))
        last = cast(int, rows[-1][0])
