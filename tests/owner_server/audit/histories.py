"""Real agent histories built through the agent API in process, on any database.

Two agents on two devices and addresses work three contacts:

* agent1 gets A, is given it again, displays it (a copy attempt blocked, hidden after 4.2 s)
  and records ``sale``;
* agent2 gets B, lets its lease expire, gets C;
* agent1 gets B (the pool gave it back) and records ``no_answer``.

C is a canary (trap) contact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select, update

from owner_server.api.app import create_app
from owner_server.models import AccessToken, Contact, Lease, User
from owner_server.models._common import utcnow

from ..helpers import CONTACTS, seed, stored_ref
from ..test_agent_api import API, logged_in

ADDRESSES = {"agent1": "10.1.0.11", "agent2": "10.2.0.22"}
PHONE_BY_NAME = {c["first_name"]: c["phone"] for c in CONTACTS}
CONTACTS_WITH_IDS = [dict(c, customer_id=f"C-{i}") for i, c in enumerate(CONTACTS, 1)]


@dataclass
class Agent:
    login: str
    headers: dict[str, str]
    session_id: str
    device_id: str
    address: str


@dataclass
class History:
    agents: dict[str, Agent]
    refs: dict[str, str] = field(default_factory=dict)  # "A", "B", "C" -> contact ref
    phones: dict[str, str] = field(default_factory=dict)  # "A"... -> phone
    leases: dict[str, str] = field(default_factory=dict)  # "A1", "B2", "B1", "C2" -> lease id


def _session_of(inst, login: str) -> tuple[str, str]:
    with Session(inst.engine) as s:
        user = s.exec(select(User).where(User.login == login)).one()
        token = s.exec(
            select(AccessToken).where(AccessToken.user_id == user.id).order_by(col(AccessToken.created_at).desc())
        ).first()
        assert token is not None
        return token.session_id, token.device_id


def _pin_address(inst, session_id: str, address: str) -> str:
    """The address login recorded for the session; a fixed one when this build does not record it yet."""
    with Session(inst.engine) as s:
        token = s.exec(select(AccessToken).where(AccessToken.session_id == session_id)).one()
        if not token.address:
            s.execute(update(AccessToken).where(col(AccessToken.session_id) == session_id).values(address=address))
            s.commit()
            return address
        return token.address


def _event(lease_id: str, event_id: str, kind: str, seq: int, **extra):
    return {
        "event_id": event_id,
        "kind": kind,
        "lease_id": lease_id,
        "occurred_at": utcnow().isoformat(),
        "session_seq": seq,
        **extra,
    }


def _next(client, agent: Agent):
    r = client.post(f"{API}/next", headers=agent.headers, json={})
    assert r.status_code == 200, r.text
    return r.json()["record"]


def build(inst) -> History:
    """Run the story above through the real app; returns refs, phones and lease ids."""
    setup = seed(inst, agents=("agent1", "agent2"), contacts=CONTACTS_WITH_IDS)
    app = create_app(inst.settings, engine=inst.engine, keys=inst.keys)
    with TestClient(app, base_url="https://testserver") as client:
        agents = {}
        for login in ("agent1", "agent2"):
            headers = logged_in(client, setup, login)
            session_id, device_id = _session_of(inst, login)
            address = _pin_address(inst, session_id, ADDRESSES[login])
            agents[login] = Agent(login, headers, session_id, device_id, address)
        h = History(agents)
        a1, a2 = agents["agent1"], agents["agent2"]

        rec = _next(client, a1)
        h.refs["A"], h.leases["A1"] = stored_ref(inst, rec["lease_id"]), rec["lease_id"]
        assert _next(client, a1)["lease_id"] == rec["lease_id"]  # the same record again
        events = [
            _event(rec["lease_id"], "a-d", "record_displayed", 0),
            _event(rec["lease_id"], "a-b", "action_blocked", 1, detail="copy"),
            _event(rec["lease_id"], "a-h", "record_hidden", 2, duration_ms=4200),
        ]
        r = client.post(f"{API}/events", headers=a1.headers, json={"events": events})
        assert r.status_code == 200, r.text
        r = client.post(f"{API}/dispositions", headers=a1.headers, json={"lease_id": rec["lease_id"], "code": "sale"})
        assert r.status_code == 200, r.text

        rec = _next(client, a2)
        h.refs["B"], h.leases["B2"] = stored_ref(inst, rec["lease_id"]), rec["lease_id"]
        with Session(inst.engine) as s:  # the lease runs out
            s.execute(
                update(Lease).where(col(Lease.id) == rec["lease_id"]).values(expires_at=utcnow() - timedelta(seconds=1))
            )
            s.commit()
        rec = _next(client, a2)  # expires B's lease, gets C
        h.refs["C"], h.leases["C2"] = stored_ref(inst, rec["lease_id"]), rec["lease_id"]

        rec = _next(client, a1)
        assert stored_ref(inst, rec["lease_id"]) == h.refs["B"]
        h.leases["B1"] = rec["lease_id"]
        r = client.post(
            f"{API}/dispositions", headers=a1.headers, json={"lease_id": rec["lease_id"], "code": "no_answer"}
        )
        assert r.status_code == 200, r.text

    with Session(inst.engine) as s:
        by_ref = {c.ref: c for c in s.exec(select(Contact)).all()}
        for key, ref in h.refs.items():
            cipher = inst.keys.cipher_for(s, data_key_id=by_ref[ref].data_key_id)
            h.phones[key] = cipher.decrypt_fields(ref, by_ref[ref].payload)["phone"]
        s.execute(update(Contact).where(col(Contact.ref) == h.refs["C"]).values(is_canary=True))
        s.commit()
    return h
