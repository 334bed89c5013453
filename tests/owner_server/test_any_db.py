"""The agent flow's services on both databases."""

from sqlmodel import Session, select

from owner_server.models import Contact

from .helpers import CONTACTS, seed


def test_contacts_round_trip_on_both_databases(any_installation):
    seed(any_installation)
    with Session(any_installation.engine) as s:
        rows = s.exec(select(Contact)).all()
        key = any_installation.keys.cipher_for(s, data_key_id=rows[0].data_key_id)
        values = sorted(key.decrypt_fields(r.ref, r.payload)["first_name"] for r in rows)
    assert values == sorted(c["first_name"] for c in CONTACTS)
