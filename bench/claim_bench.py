"""Claim-path benchmark: next record + outcome with every limit and rule on, beside the same path with them off.

Run by hand from the repository root (results go in bench/README.md)::

    .venv/bin/python -m bench.claim_bench --contacts 12000 --agents 16 --claims 1000 --rounds 3 --db both

What runs, in one process:
    1. Per database, a fresh installation with one campaign of ``--contacts``
       encrypted contacts (the policy of the tests: two visible fields) and
       ``--agents`` agents.
    2. Rounds alternate ``on`` and ``off`` (ABAB..., ``--rounds`` each) over
       the same database, each round ``--claims`` claims taken round-robin by
       the agents, in process, through the real services
       (:func:`owner_server.work.distribution.next_record`, then a display
       event batch and :func:`owner_server.work.outcomes.record_disposition`),
       each claim one transaction per call, as the API runs them.
       * ``on``: the default limits (60/h, 480/day) and every rule on at its
         default thresholds;
       * ``off``: the containment code bypassed entirely (the issuance
         counts, limit check and every rule replaced by no-ops): the
         claim path as it was before limits existed.
       Each agent's clock advances 70 s per claim (a human pace), so the
       rules run their queries and never trip, and no agent hits a limit.
    3. Print claims/s of both and the ratio on/off (target: at least 0.8x).

PostgreSQL runs in a throwaway cluster (``tests/support/pg_cluster.py``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bench.per_database import add_db_arguments, run_per_database
from owner_server.core.datadir import init_data_dir, open_installation
from owner_server.core.db import session_scope
from owner_server.identity import admin, bearer
from owner_server.models import Contact, ContactState, User
from owner_server.work import distribution, outcomes
from owner_server.work.limits import IssueCounts
from shared.policy import CampaignPolicy
from shared.protocol import DisplayEvent, DisplayEventKind, DispositionRequest, EventBatch

TARGET_RATIO = 0.8
BENCH_PASSWORD = "bench password 1"  # noqa: S105 - throwaway agents of a benchmark
PACE = timedelta(seconds=70)
START = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 08:00 in Warsaw
POLICY = CampaignPolicy.model_validate(
    {
        "script": "Hello",
        "fields": {"first_name": "visible", "city": "visible"},
        "dispositions": [{"code": "no_answer", "label": "No answer"}],
        # the bench's clock starts before the default windows open; calling hours are not what it measures
        "strategy": {
            "windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}]
        },
    }
)


@dataclass
class Result:
    """One database's figures."""

    db: str
    claims_per_round: int
    on_claims_per_s: list[float]
    off_claims_per_s: list[float]

    @property
    def ratio(self) -> float:
        """Median on / median off."""
        return statistics.median(self.on_claims_per_s) / statistics.median(self.off_claims_per_s)


@contextmanager
def containment_off() -> Iterator[None]:
    """Bypass every limit and rule (the claim path without containment)."""

    def zero_counts(session: Session, *, user_id: int, now: datetime, **_: Any) -> IssueCounts:
        return IssueCounts(hour=0, day=0, window=0, day_start=now)

    def nothing(*_: Any, **__: Any) -> None:
        return None

    saved = (distribution.count_issued, distribution.check_before_issue, distribution.check_quota)
    saved_out = (outcomes.check_outcome, outcomes.check_events)
    distribution.count_issued, distribution.check_before_issue = zero_counts, nothing
    distribution.check_quota, outcomes.check_outcome, outcomes.check_events = nothing, nothing, nothing
    try:
        yield
    finally:
        distribution.count_issued, distribution.check_before_issue, distribution.check_quota = saved
        outcomes.check_outcome, outcomes.check_events = saved_out


def _seed(inst: Any, contacts: int, agents: int) -> list[int]:
    with session_scope(inst.engine) as session:
        admin.add_outsourcer(session, name="BPO", actor="bench")
        camp = admin.create_campaign(session, name="Bench", policy=POLICY, keys=inst.keys, actor="bench")
        key = inst.keys.campaign_key(session, campaign_id=camp.id)
        indexer = inst.keys.indexer(session)
        for n in range(contacts):
            ref = uuid.uuid4().hex
            values = {"first_name": f"Imię{n}", "city": "Łódź", "phone": f"+4850{n:07d}"}
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
        for a in range(agents):
            admin.add_agent(
                session, login=f"agent{a}", outsourcer="BPO", campaign="Bench", password=BENCH_PASSWORD, actor="b"
            )
    with Session(inst.engine) as session:
        return [u.id for u in session.exec(select(User).where(User.login.startswith("agent")))]  # type: ignore[union-attr,attr-defined]


def _call(inst: Any, user_id: int, fn: Any, now: datetime, **kwargs: Any) -> Any:
    with Session(inst.engine, expire_on_commit=False) as session:
        user = session.get(User, user_id)
        assert user is not None
        agent = bearer.principal_for(session, user=user, session_id=f"s{user_id}", device_id="d")
        result = fn(session, agent=agent, now=now, **kwargs)
        session.commit()
        return result


def _claim(inst: Any, user_id: int, now: datetime, seq: int) -> None:
    record = _call(inst, user_id, distribution.next_record, now, keys=inst.keys).record
    assert record is not None, "the campaign ran out of contacts: raise --contacts"
    event = DisplayEvent(
        event_id=uuid.uuid4().hex,
        kind=DisplayEventKind.RECORD_DISPLAYED,
        lease_id=record.lease_id,
        occurred_at=now,
        session_seq=seq,
    )
    _call(inst, user_id, outcomes.record_events, now, batch=EventBatch(events=(event,)))
    done = now + timedelta(seconds=50)
    outcome = DispositionRequest(lease_id=record.lease_id, code="no_answer")
    _call(inst, user_id, outcomes.record_disposition, done, request=outcome)


def _round(inst: Any, agents: list[int], clocks: dict[int, datetime], claims: int) -> float:
    started = time.perf_counter()
    for n in range(claims):
        user_id = agents[n % len(agents)]
        _claim(inst, user_id, clocks[user_id], n)
        clocks[user_id] += PACE
    return claims / (time.perf_counter() - started)


def run(db: str, url: str, *, contacts: int, agents: int, claims: int, rounds: int) -> Result:
    """Seed one database and run alternating on/off rounds on it."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        init_data_dir(
            data, organisation="Bench", host_names=["localhost"], public_url="https://127.0.0.1:1", database_url=url
        )
        inst = open_installation(data)
        try:
            users = _seed(inst, contacts, agents)
            clocks = dict.fromkeys(users, START)
            on, off = [], []
            for _ in range(rounds):
                on.append(_round(inst, users, clocks, claims))
                with containment_off():
                    off.append(_round(inst, users, clocks, claims))
            with Session(inst.engine) as session:
                assert not any(u.suspended for u in session.exec(select(User))), "a rule tripped: the bench is wrong"
            return Result(db, claims, on, off)
        finally:
            inst.close()


def describe(result: Result) -> str:
    """One readable line per database."""
    on = ", ".join(f"{v:,.0f}" for v in result.on_claims_per_s)
    off = ", ".join(f"{v:,.0f}" for v in result.off_claims_per_s)
    verdict = "met" if result.ratio >= TARGET_RATIO else "NOT met"
    return (
        f"[{result.db}] {result.claims_per_round:,} claims a round: containment on {on} claims/s; "
        f"off {off} claims/s; ratio on/off (medians) {result.ratio:.2f}x [target {TARGET_RATIO}x: {verdict}]"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--agents", type=int, default=16)
    parser.add_argument("--claims", type=int, default=2_000, help="claims per round")
    parser.add_argument("--rounds", type=int, default=3)
    add_db_arguments(parser)
    args = parser.parse_args(argv)
    if args.contacts < args.claims * args.rounds * 2:
        parser.error("--contacts must be at least 2 x claims x rounds (every claim takes a fresh contact)")
    if args.claims * args.rounds * 2 > args.agents * 400:
        parser.error("at most 400 claims per agent in all (a human-paced shift; more would reach the daily limit)")

    def measure(db: str, url: str) -> list[Result]:
        return [run(db, url, contacts=args.contacts, agents=args.agents, claims=args.claims, rounds=args.rounds)]

    return run_per_database(args, measure, describe)


if __name__ == "__main__":
    raise SystemExit(main())
