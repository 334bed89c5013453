"""A campaign with a contact strategy, several agents on one simulated clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from owner_server.core.db import session_scope
from owner_server.identity import admin
from owner_server.models import Contact, ContactState, User
from owner_server.work import outcomes
from shared.policy import CampaignPolicy
from shared.protocol import DispositionRequest
from tests.owner_server.work.containment_support import Shift, quiet_rules

#: Monday 30 November 2026, 10:00 in Warsaw: inside the default calling windows.
OPEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DISPOSITIONS = [
    {"code": "sale", "label": "Sale"},
    {"code": "no_answer", "label": "No answer"},
    {"code": "busy", "label": "Busy"},
    {"code": "callback", "label": "Call back"},
]


def strategy_policy(**strategy: Any) -> CampaignPolicy:
    """A policy with every anomaly rule off, the default windows and the given ``[strategy]`` values."""
    return CampaignPolicy.model_validate(
        {
            "script": "Hello",
            "fields": {"first_name": "visible", "birth_date": "verify_only", "postal_code": "verify_only"},
            "dispositions": DISPOSITIONS,
            "rules": quiet_rules(),
            "limits": {"per_hour": 1000, "per_day": 1000},
            "strategy": strategy,
        }
    )


def make_agents(inst: Any, policy: CampaignPolicy, *, agents: int = 2, contacts: int = 3) -> list[Shift]:
    """A campaign with ``contacts`` contacts and ``agents`` agents, each a :class:`Shift` starting at :data:`OPEN`."""
    with session_scope(inst.engine) as session:
        admin.add_outsourcer(session, name="BPO", actor="test")
        camp = admin.create_campaign(session, name="Camp", policy=policy, keys=inst.keys, actor="test")
        key = inst.keys.campaign_key(session, campaign_id=camp.id)
        indexer = inst.keys.indexer(session)
        for n in range(contacts):
            ref = uuid.uuid4().hex
            values = {
                "first_name": f"Name{n}",
                "birth_date": "1990-01-31",
                "postal_code": "90-001",
                "phone": f"+4850{n:07d}",
            }
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
        for n in range(agents):
            admin.add_agent(session, login=f"agent{n + 1}", outsourcer="BPO", campaign="Camp", password=None, actor="t")
    shifts = []
    with Session(inst.engine) as session:
        for n in range(agents):
            user = session.exec(select(User).where(User.login == f"agent{n + 1}")).one()
            shifts.append(Shift(inst=inst, user_id=user.id, now=OPEN, session_id=f"session-{n + 1}"))
    return shifts


def outcome(shift: Shift, lease_id: str, code: str = "no_answer", **extra: Any) -> Any:
    """Record an outcome with any of the request's optional fields."""
    request = DispositionRequest(lease_id=lease_id, code=code, **extra)
    return shift._call(outcomes.record_disposition, request=request, keys=shift.inst.keys)


def contact_of(inst: Any, lease_id: str) -> Contact:
    """The stored contact a lease is for."""
    from owner_server.models import Lease

    with Session(inst.engine) as session:
        lease = session.get(Lease, lease_id)
        contact = session.get(Contact, lease.contact_id)
        assert contact is not None
        return contact
