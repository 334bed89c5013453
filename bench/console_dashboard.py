"""Console dashboard benchmark: ``GET /`` and ``GET /dashboard/live`` for 3,000 agents and 1,000,000 contacts.

Run by hand from the repository root (results go in bench/README.md)::

    .venv/bin/python -m bench.console_dashboard --db both

Steps:
    1. Per database, a fresh installation (migrated schema) with one campaign
       (the real admin service) and ``--outsourcers`` organisations.
    2. Bulk-load with SQLAlchemy Core ``executemany`` (contacts unencrypted:
       the dashboard never decrypts): ``--agents`` agents spread over the
       organisations (a fixed password hash), ``--contacts`` contacts in mixed
       states (60 % new, 35 % done, 3 % callback, 2 % suppressed, one leased per
       holding agent), lease history (``--history`` closed leases over the last
       7 days, 0-60 in the last hour per working agent, one open lease for 70 %
       of them), access tokens (a live one per working agent, 10 expired per
       agent), and ``--alerts`` alerts (10 % open). ``ANALYZE`` (PostgreSQL:
       ``VACUUM ANALYZE``, as autovacuum does after a bulk load).
    3. In process (the real console app, a TestClient with an admin's and a
       supervisor's session): ``--runs`` timed requests of each page after
       two untimed ones (``/``, ``/dashboard/live``, and for the admin the
       campaign progress fragment the page loads apart); print median and
       p95 in ms (wall and this process's CPU) against the 300 ms target.

PostgreSQL runs in a throwaway cluster (``tests/support/pg_cluster.py``; needs
``initdb``/``pg_ctl``), with ``fsync=off`` like the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Table, text
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from owner_server.console.app import create_console_app
from owner_server.console.auth import COOKIE
from owner_server.core.datadir import init_data_dir, open_installation
from owner_server.core.db import session_scope
from owner_server.identity import admin
from owner_server.identity.console_sessions import start_console_session
from owner_server.models import (
    AccessToken,
    Alert,
    ConsoleStage,
    Contact,
    ContactState,
    Device,
    Lease,
    Outsourcer,
    Role,
    User,
)
from owner_server.models._common import utcnow
from shared.policy import CampaignPolicy

CAMPAIGN = "Bench"
TARGET_MS = 300.0
CHUNK = 20_000
#: The pages each role opens (campaign progress is owner staff's, loaded apart by the page).
PAGES = {Role.ADMIN: ("/", "/dashboard/live", "/dashboard/progress"), Role.SUPERVISOR: ("/", "/dashboard/live")}
WORKING = 0.8  # of the agents, working now
HOLDING = 0.7  # of the working agents, holding a record


@dataclass(frozen=True)
class Timing:
    db: str
    role: str
    path: str
    runs: int
    median_ms: float
    p95_ms: float
    max_ms: float
    cpu_median_ms: float = 0.0
    cpu_p95_ms: float = 0.0


def _insert(engine: Engine, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    """Insert ``rows`` in chunks, one transaction per chunk; returns how many."""
    core: Table = table.__table__
    done = 0
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in rows:
            batch.append(row)
            if len(batch) == CHUNK:
                conn.execute(core.insert(), batch)
                done += len(batch)
                batch = []
        if batch:
            conn.execute(core.insert(), batch)
            done += len(batch)
    return done


def _setup(inst: Any, outsourcers: int) -> tuple[int, int, list[int]]:
    policy = CampaignPolicy.model_validate(
        {"script": "Hi", "fields": {"first_name": "visible"}, "dispositions": [{"code": "ok", "label": "OK"}]}
    )
    with session_scope(inst.engine) as session:
        orgs = [admin.add_outsourcer(session, name=f"BPO {n + 1}", actor="bench") for n in range(outsourcers)]
        campaign = admin.create_campaign(session, name=CAMPAIGN, policy=policy, keys=inst.keys, actor="bench")
        assert campaign.id is not None
        key = inst.keys.campaign_key(session, campaign_id=campaign.id)
        session.flush()
        return campaign.id, key.data_key_id, [o.id for o in orgs if o.id is not None]


def _states(rng: random.Random, contacts: int) -> list[ContactState]:
    weights = ((ContactState.NEW, 60), (ContactState.DONE, 35), (ContactState.CALLBACK, 3))
    pool = [s for s, w in weights for _ in range(w)] + [ContactState.SUPPRESSED] * 2
    return [pool[rng.randrange(len(pool))] for _ in range(contacts)]


def _load(inst: Any, *, agents: int, contacts: int, history: int, alerts: int, outsourcers: int, seed: int) -> float:
    rng = random.Random(seed)
    started = time.perf_counter()
    campaign_id, data_key_id, org_ids = _setup(inst, outsourcers)
    now = utcnow()
    engine = inst.engine
    first_user = 10_000
    users = list(range(first_user, first_user + agents))
    _insert(
        engine,
        User,
        (
            {
                "id": uid,
                "ref": f"{uid:032x}",
                "login": f"agent{uid - first_user:04d}",
                "role": Role.AGENT,
                "outsourcer_id": org_ids[(uid - first_user) % len(org_ids)],
                "campaign_id": campaign_id,
                "password_hash": "$argon2id$bench",
                "suspended": (uid - first_user) % 97 == 0,
                "created_at": now - timedelta(days=30),
            }
            for uid in users
        ),
    )
    _insert(
        engine,
        Device,
        (
            {"id": f"{uid:031x}d", "user_id": uid, "public_key": b"\x00" * 32, "name": "pc", "enrolled_at": now}
            for uid in users
        ),
    )
    working = [u for u in users if rng.random() < WORKING]
    holding = [u for u in working if rng.random() < HOLDING]
    states = _states(rng, contacts)
    for n in range(len(holding)):
        states[n] = ContactState.LEASED
    _insert(
        engine,
        Contact,
        (
            {
                "id": i + 1,
                "ref": f"{i + 1:032x}",
                "campaign_id": campaign_id,
                "data_key_id": data_key_id,
                "payload": b"\x00" * 64,
                "phone_bidx": (i + 1).to_bytes(32, "big"),
                "state": states[i],
                "attempts": 0 if states[i] is ContactState.NEW else 1,
                "source_record": i + 1,
                "pick_key": rng.randrange(2**31 - 1),
                "is_canary": False,
                "callback_at": now + timedelta(hours=2) if states[i] is ContactState.CALLBACK else None,
            }
            for i in range(contacts)
        ),
    )
    _insert(engine, Lease, _leases(rng, now, campaign_id, contacts, users, working, holding, history))
    _insert(engine, AccessToken, _tokens(now, users, working))
    _insert(engine, Alert, _alerts(rng, now, campaign_id, users, org_ids, first_user, alerts))
    # what autovacuum does after a bulk load: statistics, and (PostgreSQL) the visibility map that lets
    # the counts be index-only scans; VACUUM cannot run in a transaction
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE"))
    return time.perf_counter() - started


def _leases(
    rng: random.Random,
    now: datetime,
    campaign_id: int,
    contacts: int,
    users: list[int],
    working: list[int],
    holding: list[int],
    history: int,
) -> Iterator[dict[str, Any]]:
    n = 0

    def lease(user: int, contact: int, issued: datetime, closed: datetime | None) -> dict[str, Any]:
        nonlocal n
        n += 1
        return {
            "id": f"{n:031x}l",
            "user_id": user,
            "contact_id": contact,
            "campaign_id": campaign_id,
            "issued_at": issued,
            "expires_at": issued + timedelta(minutes=30),
            "closed_at": closed,
            "reissues": 0,
        }

    for k, user in enumerate(holding):  # the open ones, on the leased contacts
        yield lease(user, k + 1, now - timedelta(seconds=rng.randrange(600)), None)
    for user in working:  # the last hour
        for _ in range(rng.randrange(61)):
            issued = now - timedelta(seconds=60 + rng.randrange(3540))
            yield lease(user, rng.randrange(contacts) + 1, issued, issued + timedelta(seconds=50))
    for _ in range(history):  # the week before
        issued = now - timedelta(hours=1, seconds=rng.randrange(7 * 86400))
        yield lease(
            users[rng.randrange(len(users))], rng.randrange(contacts) + 1, issued, issued + timedelta(minutes=1)
        )


def _tokens(now: datetime, users: list[int], working: list[int]) -> Iterator[dict[str, Any]]:
    alive = set(working)
    for user in users:
        for k in range(11):
            live = k == 10 and user in alive
            yield {
                "token_hash": f"{user:032x}{k:032x}",
                "user_id": user,
                "device_id": f"{user:031x}d",
                "session_id": f"{user:028x}{k:04x}",
                "expires_at": now + timedelta(minutes=10) if live else now - timedelta(hours=k + 1),
                "revoked": False,
                "address": "10.0.0.1",
                "created_at": now - timedelta(hours=k + 1, minutes=5),
            }


def _alerts(
    rng: random.Random, now: datetime, campaign_id: int, users: list[int], orgs: list[int], first: int, count: int
) -> Iterator[dict[str, Any]]:
    for n in range(count):
        user = users[rng.randrange(len(users))]
        yield {
            "ref": f"{n + 1:032x}",
            "rule": "velocity",
            "action": "alert",
            "user_id": user,
            "outsourcer_id": orgs[(user - first) % len(orgs)],
            "campaign_id": campaign_id,
            "figures": json.dumps({"count": 61, "threshold": 60}),
            "status": "open" if n % 10 == 0 else "acknowledged",
            "created_at": now - timedelta(minutes=rng.randrange(7 * 1440)),
        }


def _client(inst: Any, app: Any, role: Role, org_id: int | None) -> TestClient:
    with session_scope(inst.engine) as session:
        user = admin.create_user(session, login=f"bench-{role.value}", role=role, password="x" * 16, actor="bench")
        user.outsourcer_id = org_id
        session.add(user)
        made = start_console_session(session, user=user, address="127.0.0.1", stage=ConsoleStage.ACTIVE)
        token = made.token
    client = TestClient(app, base_url="https://testserver")
    client.cookies.set(COOKIE, token)
    return client


def _time(client: TestClient, path: str, runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU time (this process: the app runs in it) of ``runs`` requests, in ms."""
    headers = {"HX-Request": "true", "X-Custos-Poll": "1"} if path.startswith("/dashboard/") else {}
    for _ in range(2):
        assert client.get(path, headers=headers).status_code == 200
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        answer = client.get(path, headers=headers)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert answer.status_code == 200, answer.text[:200]
    return wall, cpu


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def run(db: str, root: Path, args: argparse.Namespace, pg: Any = None) -> tuple[float, list[Timing]]:
    """Load one fresh installation of ``db`` and time the dashboard pages in it."""
    data_dir = root / db
    url = pg.new_database() if db == "postgresql" else ""
    init_data_dir(
        data_dir, organisation="Bench", host_names=["localhost"], public_url="https://127.0.0.1:1", database_url=url
    )
    inst = open_installation(data_dir)
    timings: list[Timing] = []
    try:
        load_s = _load(
            inst,
            agents=args.agents,
            contacts=args.contacts,
            history=args.history,
            alerts=args.alerts,
            outsourcers=args.outsourcers,
            seed=7,
        )
        app = create_console_app(inst.settings, engine=inst.engine, keys=inst.keys)
        with session_scope(inst.engine) as session:
            org = session.exec(select(func.min(Outsourcer.id))).one()
        assert org is not None
        for role, org_id in ((Role.ADMIN, None), (Role.SUPERVISOR, int(org))):
            with _client(inst, app, role, org_id) as client:
                for path in PAGES[role]:
                    wall, cpu = _time(client, path, args.runs)
                    figures = (statistics.median(wall), _p95(wall), max(wall), statistics.median(cpu), _p95(cpu))
                    timings.append(Timing(db, role.value, path, len(wall), *figures))
    finally:
        inst.close()
    return load_s, timings


def describe(db: str, load_s: float, timings: list[Timing], args: argparse.Namespace) -> str:
    """Human-readable lines for one database, with the target."""
    lines = [
        f"[{db}] {args.agents:,} agents in {args.outsourcers} outsourcers, {args.contacts:,} contacts, "
        f"{args.history:,} older leases, {args.alerts:,} alerts; loaded in {load_s:.0f} s"
    ]
    for t in timings:
        mark = "ok" if t.p95_ms < TARGET_MS else "MISSED"
        lines.append(
            f"  {t.role:<10} GET {t.path:<20} median {t.median_ms:6.1f} ms, p95 {t.p95_ms:6.1f} ms, "
            f"max {t.max_ms:6.1f} ms over {t.runs} runs  [target < {TARGET_MS:.0f} ms: {mark}]; "
            f"CPU median {t.cpu_median_ms:.1f} ms, p95 {t.cpu_p95_ms:.1f} ms"
        )
    lines.append(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--agents", type=int, default=3_000)
    parser.add_argument("--outsourcers", type=int, default=4)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=300_000)
    parser.add_argument("--alerts", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    dbs = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results: list[Timing] = []
    pg = None
    if "postgresql" in dbs:
        from tests.support.pg_cluster import PgCluster, find_pg_bin

        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) are not installed")
        pg = PgCluster(bin_dir)
        pg.start()
    try:
        with tempfile.TemporaryDirectory(prefix="custos-dashboard-bench-") as tmp:
            for db in dbs:
                load_s, timings = run(db, Path(tmp), args, pg)
                results.extend(timings)
                if not args.json:
                    print(describe(db, load_s, timings, args), flush=True)
    finally:
        if pg is not None:
            pg.stop()
    if args.json:
        print(json.dumps([asdict(r) for r in results]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
