"""Helpers that build a small working installation for server tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from owner_server.core.db import session_scope
from owner_server.identity import admin
from owner_server.models import Contact, ContactState
from shared.auth import login_challenge
from shared.policy import CampaignPolicy
from shared.protocol import b64encode

#: A calling window that never closes (every day, 00:00 to the end of the day).
ALWAYS_OPEN = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}
POLICY = CampaignPolicy.model_validate(
    {
        "script": "Hello",
        "fields": {"first_name": "visible", "last_name": {"mode": "masked"}, "city": "visible", "pesel": "hidden"},
        "dispositions": [
            {"code": "sale", "label": "Sale", "shortcut": "F1"},
            {"code": "no_answer", "label": "No answer"},
        ],
        # tests run at any hour on the real clock; the hours rule is tested on a simulated one (work/test_rules.py)
        "rules": {"hours": {"enabled": False}},
        # and calling windows on a simulated one too (work/test_strategy.py): here they never close
        "strategy": {"windows": [ALWAYS_OPEN]},
    }
)
PASSWORD = "correct horse battery"

CONTACTS = [
    {"first_name": "Łucja", "last_name": "Żółkiewicz", "city": "Łódź", "pesel": "90010112345", "phone": "+48500000001"},
    {"first_name": "Jan", "last_name": "Kowalski", "city": "Gdańsk", "pesel": "80020254321", "phone": "+48600000002"},
    {"first_name": "Ewa", "last_name": "Nowak", "city": "Kraków", "pesel": "70030398765", "phone": "+48220000004"},
]


@dataclass
class Setup:
    campaign: str
    agent_login: str
    enrolment_code: str


def add_campaign(inst, session, *, name: str, people=CONTACTS, policy: CampaignPolicy = POLICY) -> int:
    """Create a campaign with ``policy`` (the test policy by default) and encrypted contacts; returns its id."""
    camp = admin.create_campaign(session, name=name, policy=policy, keys=inst.keys, actor="test")
    key = inst.keys.campaign_key(session, campaign_id=camp.id)
    indexer = inst.keys.indexer(session)
    for values in people:
        ref = uuid.uuid4().hex
        session.add(
            Contact(
                ref=ref,
                campaign_id=camp.id,
                data_key_id=key.data_key_id,
                payload=key.cipher.encrypt_fields(ref, values),
                phone_bidx=indexer.phone(values["phone"]),
                state=ContactState.NEW,
            )
        )
    return camp.id


def seed(inst, *, agents=("agent1",), contacts=CONTACTS, campaign="Camp") -> dict[str, Setup]:
    out = {}
    with session_scope(inst.engine) as session:
        admin.add_outsourcer(session, name="BPO", actor="test")
        add_campaign(inst, session, name=campaign, people=contacts)
        for login in agents:
            new = admin.add_agent(
                session, login=login, outsourcer="BPO", campaign=campaign, password=PASSWORD, actor="test"
            )
            out[login] = Setup(campaign, login, new.enrolment_code)
    return out


class DeviceKey:
    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()

    @property
    def public_b64(self) -> str:
        return b64encode(self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(self, login: str, device_id: str, nonce: str) -> str:
        return b64encode(self.key.sign(login_challenge(login=login, device_id=device_id, nonce=nonce)))


def stored_ref(inst, lease_id: str) -> str:
    """The stored ref of a leased contact (agents only see a pseudonym of it)."""
    from sqlmodel import Session

    from owner_server.models import Lease

    with Session(inst.engine) as session:
        lease = session.get(Lease, lease_id)
        contact = session.get(Contact, lease.contact_id)
        return contact.ref


def relax_containment(inst, campaign: str = "Camp") -> None:
    """Turn a campaign's limits up and its rules off, for tests that drive an agent at machine speed on purpose."""
    from sqlmodel import Session, select

    from owner_server.models import Campaign

    with Session(inst.engine) as session:
        camp = session.exec(select(Campaign).where(Campaign.name == campaign)).one()
        policy = CampaignPolicy.model_validate_json(camp.policy_json).model_dump(mode="json")
        policy["limits"] = {"per_hour": 100_000, "per_day": 100_000}
        policy["rules"] = {name: {"enabled": False} for name in policy["rules"]}
        camp.policy_json = CampaignPolicy.model_validate(policy).model_dump_json()
        session.add(camp)
        session.commit()
