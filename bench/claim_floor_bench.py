"""Claim path, DB layer: the services beside a raw-SQL floor doing the same work, at 1, 16 and 64 worker threads.

Run by hand from the repository root (results go in bench/README.md)::

    .venv/bin/python -m bench.claim_floor_bench --claims 1500 --rounds 2 --workers 1,16,64 --db both

What runs, in one process, per database:
    1. A fresh installation with one campaign of encrypted contacts (two visible
       fields) and 64 agents, each with a device and a logged-in session (a real
       bearer token, its expiry moved past the bench's simulated shift).
    2. Per worker count, rounds alternate ``floor`` and ``ours`` (ABAB...), each
       round ``--claims`` claims over that many threads; worker ``w`` works the
       agents ``w, w + N, ...`` in turn. A claim is three transactions:
       * ``ours``: what the agent API runs (:meth:`ServerState.agent_transaction`
         authenticating the token, then :func:`~owner_server.work.distribution.next_record`,
         :func:`~owner_server.work.outcomes.record_events` with one ``record_displayed``
         event, :func:`~owner_server.work.outcomes.record_disposition`), every limit
         and rule on;
       * ``floor``: :mod:`bench.claim_floor_sql`, the same work in hand-written SQL
         on the DB-API connection.
       Each agent's clock advances 70 s per claim (a human pace): the rules run their
       queries and never trip, no agent reaches a limit.
    3. Claims/s of both and the ratio ours/floor (medians; target at least 0.5x).

PostgreSQL runs in a throwaway cluster (``tests/support/pg_cluster.py``). Threads
share one interpreter (the GIL), as the server's request threads do.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import select, update

from bench.claim_bench import BENCH_PASSWORD, PACE, POLICY, START
from bench.claim_floor_sql import FloorSeat, FloorWorker
from bench.per_database import add_db_arguments, run_per_database
from owner_server.api.state import ServerState
from owner_server.core.datadir import init_data_dir, open_installation
from owner_server.core.db import session_scope
from owner_server.core.session_settings import SessionSettings
from owner_server.identity import admin
from owner_server.identity.sessions import start_session, token_hash
from owner_server.models import AccessToken, Contact, ContactState, Device, User
from owner_server.work import distribution, outcomes
from shared.protocol import DisplayEvent, DisplayEventKind, DispositionRequest, EventBatch

TARGET_RATIO = 0.5
AGENTS = 64
ADDRESS = "127.0.0.1"


@dataclass
class Seat:
    """One bench agent: its bearer token and simulated clock."""

    token: str
    now: datetime
    seq: int = 0


@dataclass
class Result:
    """One database and worker count: claims/s of each round of both arms."""

    db: str
    workers: int
    claims_per_round: int
    floor_claims_per_s: list[float] = field(default_factory=list)
    ours_claims_per_s: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Median ours / median floor."""
        return statistics.median(self.ours_claims_per_s) / statistics.median(self.floor_claims_per_s)


def _seed(inst: Any, contacts: int, agents: int = AGENTS) -> list[Seat]:
    far = datetime.now(UTC) + timedelta(days=3650)
    with session_scope(inst.engine) as session:
        admin.add_outsourcer(session, name="BPO", actor="bench")
        camp = admin.create_campaign(session, name="Bench", policy=POLICY, keys=inst.keys, actor="bench")
        key = inst.keys.campaign_key(session, campaign_id=camp.id)
        indexer = inst.keys.indexer(session)
        for n in range(contacts):
            ref = uuid.uuid4().hex
            values = {"first_name": f"Imię{n}", "city": "Łódź", "phone": f"+4850{n:07d}"}
            payload = key.cipher.encrypt_fields(ref, values)
            session.add(
                Contact(
                    ref=ref,
                    campaign_id=camp.id,
                    data_key_id=key.data_key_id,
                    payload=payload,
                    phone_bidx=indexer.phone(values["phone"]),
                    state=ContactState.NEW,
                )
            )
        seats = []
        for a in range(agents):
            admin.add_agent(
                session, login=f"agent{a}", outsourcer="BPO", campaign="Bench", password=BENCH_PASSWORD, actor="b"
            )
            user = session.exec(select(User).where(User.login == f"agent{a}")).one()
            device = Device(user_id=user.id, public_key=bytes(32), name="bench")  # type: ignore[arg-type]
            session.add(device)
            session.flush()
            issued = start_session(
                session, user=user, device=device, address=ADDRESS, now=START, lifetimes=SessionSettings()
            )
            seats.append(Seat(issued.access_token, START))
        session.execute(update(AccessToken).values(expires_at=far))
    return seats


def ours_claim(state: ServerState, seat: Seat) -> None:
    """One claim through what the agent API runs: next, one display event, the outcome."""
    now = seat.now
    with state.agent_transaction(token=seat.token, address=ADDRESS) as (session, agent):
        answer = distribution.next_record(
            session, agent=agent, keys=state.keys, watermark_key=state.watermark_key, now=now
        )
    record = answer.record
    assert record is not None, "the campaign ran out of contacts: raise --contacts"
    seat.seq += 1
    event = DisplayEvent(
        event_id=uuid.uuid4().hex,
        kind=DisplayEventKind.RECORD_DISPLAYED,
        lease_id=record.lease_id,
        occurred_at=now,
        session_seq=seat.seq,
    )
    with state.agent_transaction(token=seat.token, address=ADDRESS) as (session, agent):
        outcomes.record_events(session, agent=agent, batch=EventBatch(events=(event,)), now=now)
    outcome = DispositionRequest(lease_id=record.lease_id, code="no_answer")
    with state.agent_transaction(token=seat.token, address=ADDRESS) as (session, agent):
        outcomes.record_disposition(session, agent=agent, request=outcome, keys=state.keys, now=now + PACE / 2)


def floor_claim(worker: FloorWorker, seat: Seat, floor_seat: FloorSeat) -> None:
    """The same claim in raw SQL."""
    floor_seat.now = seat.now
    lease_id = worker.next_record(floor_seat)
    seat.seq += 1
    worker.displayed(floor_seat, lease_id, seat.seq, uuid.uuid4().hex)
    floor_seat.now = seat.now + PACE / 2
    worker.disposition(floor_seat, lease_id, "no_answer")


def _threads(workers: int, claims: int, seats: list[Seat], work: Callable[[int, list[Seat], int], None]) -> float:
    """Run ``claims`` claims over ``workers`` threads; returns claims/s (wall clock)."""
    share = [claims // workers + (1 if w < claims % workers else 0) for w in range(workers)]
    errors: list[BaseException] = []
    start = threading.Barrier(workers + 1)

    def body(w: int) -> None:
        start.wait()
        try:
            work(w, seats[w::workers], share[w])
        except BaseException as error:  # reported after the round
            errors.append(error)

    threads = [threading.Thread(target=body, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return claims / elapsed


def _round(
    arm: str, inst: Any, state: ServerState, floor_args: dict[str, Any], workers: int, claims: int, seats: list[Seat]
) -> float:
    def work(_w: int, mine: list[Seat], n: int) -> None:
        floor = FloorWorker(inst.engine, **floor_args) if arm == "floor" else None
        floor_seats = [FloorSeat(token_hash(s.token), s.now) for s in mine]
        try:
            for i in range(n):
                seat = mine[i % len(mine)]
                if floor is not None:
                    floor_claim(floor, seat, floor_seats[i % len(mine)])
                else:
                    ours_claim(state, seat)
                seat.now += PACE
        finally:
            if floor is not None:
                floor.close()

    return _threads(workers, claims, seats, work)


def run(db: str, url: str, *, workers: list[int], claims: int, rounds: int) -> list[Result]:
    """Seed one database and run alternating floor/ours rounds at each worker count."""
    contacts = claims * rounds * 2 * len(workers) + 500
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        init_data_dir(
            data, organisation="Bench", host_names=["localhost"], public_url="https://127.0.0.1:1", database_url=url
        )
        inst = open_installation(data)
        try:
            seats = _seed(inst, contacts)
            state = ServerState(settings=inst.settings, engine=inst.engine, keys=inst.keys)
            with session_scope(inst.engine) as session:
                camp_key = inst.keys.campaign_key(session, campaign_id=1)
            floor_args = {"policy": POLICY, "cipher": camp_key.cipher, "watermark_key": state.watermark_key}
            results = []
            for n in workers:
                result = Result(db, n, claims)
                for _ in range(rounds):
                    result.floor_claims_per_s.append(_round("floor", inst, state, floor_args, n, claims, seats))
                    result.ours_claims_per_s.append(_round("ours", inst, state, floor_args, n, claims, seats))
                results.append(result)
            with session_scope(inst.engine) as session:
                assert not any(u.suspended for u in session.exec(select(User))), "a rule tripped: the bench is wrong"
            return results
        finally:
            inst.close()


def describe(result: Result) -> str:
    """One readable line per database and worker count."""
    floor = ", ".join(f"{v:,.0f}" for v in result.floor_claims_per_s)
    ours = ", ".join(f"{v:,.0f}" for v in result.ours_claims_per_s)
    verdict = "met" if result.ratio >= TARGET_RATIO else "NOT met"
    return (
        f"[{result.db}, {result.workers} workers] {result.claims_per_round:,} claims a round: floor {floor} claims/s; "
        f"ours {ours} claims/s; ratio (medians) {result.ratio:.2f}x [target {TARGET_RATIO}x: {verdict}]"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_500, help="claims per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", default="1,16,64", help="worker thread counts, comma-separated (at most 64)")
    add_db_arguments(parser)
    args = parser.parse_args(argv)
    try:
        workers = [int(w) for w in args.workers.split(",")]
    except ValueError:
        parser.error("--workers takes whole numbers separated by commas")
    if any(not 1 <= w <= AGENTS for w in workers):
        parser.error(f"--workers: each count from 1 to {AGENTS}")
    if args.claims * args.rounds * 2 * len(workers) > AGENTS * 400:
        parser.error("at most 400 claims per agent in all (a human-paced shift; more would reach the daily limit)")

    def measure(db: str, url: str) -> list[Result]:
        return run(db, url, workers=workers, claims=args.claims, rounds=args.rounds)

    return run_per_database(args, measure, describe)


if __name__ == "__main__":
    raise SystemExit(main())
