"""Import a shared case file into a fresh campaign and read the contacts back decrypted."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select

from owner_server.core.db import session_scope
from owner_server.identity import admin
from owner_server.lists import importer
from owner_server.lists.importing.pipeline import open_file
from owner_server.models import Contact, ContactState

from .helpers import POLICY


def make_campaign(inst, name: str = "Cases") -> str:
    with session_scope(inst.engine) as session:
        admin.create_campaign(session, name=name, policy=POLICY, keys=inst.keys, actor="test")
    return name


def import_case(inst, path: Path, campaign: str, region: str = "PL"):
    opened = open_file(path, region=region)
    return importer.import_rows(
        inst.engine,
        keys=inst.keys,
        campaign_name=campaign,
        rows=opened.rows(),
        source_sha256=opened.sha256,
        actor="test",
    )


def contacts(inst, campaign_id: int | None = None) -> list[dict[str, str]]:
    """Decrypted values of every live contact, in record order."""
    with Session(inst.engine) as s:
        stmt = select(Contact).where(col(Contact.state) != ContactState.ERASED).order_by(col(Contact.source_record))
        if campaign_id is not None:
            stmt = stmt.where(Contact.campaign_id == campaign_id)
        rows = s.exec(stmt).all()
        out = []
        for row in rows:
            values = inst.keys.cipher_for(s, data_key_id=row.data_key_id).decrypt_fields(row.ref, row.payload)
            values["_record"] = str(row.source_record)
            values["_state"] = row.state.value
            out.append(values)
    return out
