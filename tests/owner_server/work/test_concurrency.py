"""Concurrent agents on both databases: one lease per agent, never one contact for two agents."""

from __future__ import annotations

import threading

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from owner_server.identity.bearer import principal_for
from owner_server.models import Lease, User
from owner_server.work.distribution import next_record

from ..helpers import CONTACTS, seed


def _principal(inst, login):
    with Session(inst.engine) as s:
        user = s.exec(select(User).where(User.login == login)).one()
        return principal_for(s, user=user, session_id=login, device_id="d")


def _race(inst, principals):
    barrier = threading.Barrier(len(principals))
    outcomes: list[str] = []

    def work(agent):
        with Session(inst.engine) as s:
            barrier.wait()
            try:
                record = next_record(s, agent=agent, keys=inst.keys).record
                s.commit()
                outcomes.append(record.contact_ref if record else "none")
            except (IntegrityError, OperationalError):  # the API answers these with 409
                s.rollback()
                outcomes.append("conflict")

    threads = [threading.Thread(target=work, args=(p,)) for p in principals]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_one_agent_racing_itself_gets_one_lease(any_installation):
    seed(any_installation)
    agent = _principal(any_installation, "agent1")
    outcomes = _race(any_installation, [agent] * 6)
    with Session(any_installation.engine) as s:
        open_leases = s.exec(select(Lease).where(col(Lease.closed_at).is_(None))).all()
    assert len(open_leases) == 1
    # every answer is that one record, a conflict (409) or "nothing free right now, retry" (all rows locked)
    assert len({o for o in outcomes if o not in ("conflict", "none")}) == 1


def test_agents_racing_never_share_a_contact(any_installation):
    logins = [f"agent{i}" for i in range(len(CONTACTS))]
    seed(any_installation, agents=tuple(logins))
    outcomes = _race(any_installation, [_principal(any_installation, login) for login in logins])
    refs = [o for o in outcomes if o not in ("conflict", "none")]
    assert len(refs) == len(set(refs)) and len(refs) >= 1
