"""One agent racing itself with parallel claim loops never gets past its hourly limit (both databases)."""

from __future__ import annotations

import threading
import time

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from owner_server.models import Lease
from owner_server.work import distribution
from shared.errors import CustosError

from .containment_support import make_shift, policy, quiet_rules

LIMIT = 6


def test_parallel_claim_loops_of_one_agent_stay_within_the_limit(any_installation, monkeypatch):
    real_check = distribution.check_quota

    def slow_check(*args, **kwargs):
        real_check(*args, **kwargs)
        time.sleep(0.05)  # widen the gap between counting and issuing, where a race would slip through

    monkeypatch.setattr(distribution, "check_quota", slow_check)
    shift = make_shift(any_installation, policy(limits={"per_hour": LIMIT}, rules=quiet_rules()), contacts=40)
    barrier = threading.Barrier(4)

    def loop():
        barrier.wait()
        for _ in range(15):
            try:
                record = shift.next().record
                if record is not None:
                    shift.dispose(record.lease_id)
            except (CustosError, IntegrityError, OperationalError):
                continue  # quota reached, no lease (another loop closed it), or a lost race: all refusals

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with Session(any_installation.engine) as session:
        issued = len(session.exec(select(Lease)).all())
    assert issued == LIMIT
