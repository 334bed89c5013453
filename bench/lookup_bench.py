"""Lookup benchmark: ``lookup --phone`` in a campaign of 1,000,000 contacts with 5,000,000 audit entries.

Run by hand from the repository root (results go in bench/README.md)::

    .venv/bin/python -m bench.lookup_bench --contacts 1000000 --entries 5000000 --db both

Steps:
    1. Per database, a fresh installation (migrated schema) with one campaign,
       one outsourcer and ``--agents`` agents (the real admin services), each with
       an enrolled device and a few sessions (tokens with addresses).
    2. Bulk-load, with raw ``executemany`` (SQLite) or ``COPY`` (PostgreSQL), the
       secondary indexes dropped during the load and rebuilt after it:
       ``--contacts`` contacts (real blind indexes of distinct numbers; the
       payload is filler, a lookup never decrypts), one lease each, and
       ``--entries`` audit entries, ``entries / contacts`` per contact
       (``record_issued``, ``record_displayed``, ``record_reissued``,
       ``record_hidden``, ``disposition_recorded``) with a ``display_event`` row
       per display entry. Entries of one contact are spread over the whole log
       (entry k of contact i has sequence number ``k * contacts + i``), the worst
       case for locality. The hash chain is filler and does not verify.
    3. ``ANALYZE``, then ``--lookups`` lookups of random phones written as a person
       would (``+48 5xx xxx xxx``), each the CLI's path: :func:`match_contacts` then
       :func:`lookup` in its own transaction (histories built and the lookup
       audited and committed). Each answer is checked (one contact, every event
       with its agent, device and address). Print p50/p99/max in ms.

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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from owner_server.audit.lookup import lookup
from owner_server.core.datadir import init_data_dir, open_installation
from owner_server.core.db import is_sqlite, session_scope
from owner_server.identity import admin
from owner_server.lists.matching import match_contacts
from owner_server.models import AuditHead, User
from shared.policy import CampaignPolicy

CAMPAIGN = "Bench"
TARGET_P99_MS = 50.0
STEPS = ("record_issued", "record_displayed", "record_reissued", "record_hidden", "disposition_recorded")
DISPLAY_STEPS = {"record_displayed", "record_hidden", "focus_lost", "focus_regained", "action_blocked"}
BASE = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SESSIONS_PER_AGENT = 4
CHUNK = 50_000
TABLES = ("contact", "lease", "display_event", "auditentry")


@dataclass(frozen=True)
class Result:
    db: str
    contacts: int
    entries: int
    lookups: int
    load_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    events_per_contact: int
    cpu_p50_ms: float = 0.0
    cpu_p99_ms: float = 0.0
    load_average: float = 0.0


def _phone(i: int) -> str:
    return f"+48{500_000_000 + i}"


def _ts(seq: int) -> datetime:
    return BASE + timedelta(milliseconds=10 * seq)


class _Loader:
    """Bulk rows into one table: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.sqlite = is_sqlite(engine)
        self.raw = engine.raw_connection()
        if self.sqlite:  # the engine's connections are in autocommit mode and check foreign keys
            self.execute("PRAGMA foreign_keys=OFF")
            self.execute("BEGIN IMMEDIATE")

    def _value(self, v: object) -> object:
        if self.sqlite and isinstance(v, datetime):
            return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return v

    def load(self, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> None:
        cur = self.raw.cursor()
        if self.sqlite:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(tuple(self._value(v) for v in row))
                if len(batch) == CHUNK:
                    cur.executemany(sql, batch)
                    batch = []
            if batch:
                cur.executemany(sql, batch)
        else:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        cur.close()

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        cur = self.raw.cursor()
        cur.execute(sql)
        rows = list(cur.fetchall()) if cur.description else []
        cur.close()
        return rows

    def commit(self) -> None:
        self.raw.commit()

    def close(self) -> None:
        if self.sqlite:
            self.execute("PRAGMA foreign_keys=ON")
        self.raw.close()


def _drop_indexes(loader: _Loader) -> list[str]:
    """Drop the secondary indexes of the bulk tables; return their DDL to rebuild."""
    names = ", ".join(f"'{t}'" for t in TABLES)
    if loader.sqlite:
        found = loader.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({names}) AND sql IS NOT NULL"
        )
    else:
        found = loader.execute(
            f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ({names}) AND indexname NOT LIKE '%pkey'"
            " AND indexdef NOT LIKE 'CREATE UNIQUE%'"
        )
    for name, _ in found:
        loader.execute(f'DROP INDEX "{name}"')
    return [ddl for _, ddl in found]


def _setup(inst: Any, agents: int) -> tuple[int, int, list[tuple[int, str, str]]]:
    """Campaign, outsourcer, agents with devices and sessions; returns ids and (user id, session, user ref)."""
    from owner_server.models import AccessToken, Device

    policy = CampaignPolicy.model_validate(
        {"script": "Hi", "fields": {"first_name": "visible"}, "dispositions": [{"code": "ok", "label": "OK"}]}
    )
    sessions: list[tuple[int, str, str]] = []
    with session_scope(inst.engine) as session:
        admin.add_outsourcer(session, name="BPO", actor="bench")
        campaign = admin.create_campaign(session, name=CAMPAIGN, policy=policy, keys=inst.keys, actor="bench")
        assert campaign.id is not None
        key = inst.keys.campaign_key(session, campaign_id=campaign.id)
        for n in range(agents):
            login = f"agent{n}"
            admin.add_agent(session, login=login, outsourcer="BPO", campaign=CAMPAIGN, password="x" * 16, actor="bench")
        session.flush()
        for user in session.exec(select(User)).all():
            assert user.id is not None
            device = Device(user_id=user.id, public_key=os.urandom(32), name="pc")
            session.add(device)
            session.flush()
            for s in range(SESSIONS_PER_AGENT):
                token = AccessToken(
                    token_hash=os.urandom(32).hex(),
                    user_id=user.id,
                    device_id=device.id,
                    expires_at=BASE,
                    address=f"10.{user.id % 250}.{s}.1",
                )
                session.add(token)
                session.flush()
                sessions.append((user.id, token.session_id, user.ref))
    return campaign.id, key.data_key_id, sessions


def _bulk(inst: Any, *, contacts: int, entries: int, agents: int, seed: int) -> float:
    rng = random.Random(seed)
    started = time.perf_counter()
    campaign_id, data_key_id, sessions = _setup(inst, agents)
    with session_scope(inst.engine) as session:
        indexer = inst.keys.indexer(session)
        head_seq = session.get(AuditHead, 1).seq  # type: ignore[union-attr]
    per = max(1, entries // contacts)
    steps = [STEPS[k % len(STEPS)] for k in range(per - 1)] + ["disposition_recorded"]
    held = [sessions[rng.randrange(len(sessions))] for _ in range(contacts)]
    refs = [f"{i:032x}" for i in range(1, contacts + 1)]
    leases = [f"{i:031x}l" for i in range(1, contacts + 1)]
    loader = _Loader(inst.engine)
    ddl = _drop_indexes(loader)
    payload = b"\x00" * 120
    loader.load(
        "contact",
        ("id", "ref", "campaign_id", "data_key_id", "payload", "phone_bidx", "state", "attempts", "source_record")
        + ("pick_key", "is_canary"),
        (
            (i + 1, refs[i], campaign_id, data_key_id, payload, indexer.phone(_phone(i)), "DONE", 1, i + 1)
            + (rng.randrange(2**31 - 1), False)
            for i in range(contacts)
        ),
    )
    loader.load(
        "lease",
        ("id", "user_id", "contact_id", "campaign_id", "issued_at", "expires_at", "closed_at", "last_session_id")
        + ("reissues",),
        (
            (leases[i], held[i][0], i + 1, campaign_id, _ts(i), _ts(i) + timedelta(hours=1))
            + (_ts((per - 1) * contacts + i), held[i][1], 1)
            for i in range(contacts)
        ),
    )
    display_ks = [k for k, step in enumerate(steps) if step in DISPLAY_STEPS]
    loader.load(
        "display_event",
        ("user_id", "event_id", "session_id", "lease_id", "kind", "session_seq", "duration_ms", "occurred_at")
        + ("received_at",),
        (
            (held[i][0], f"e{i}-{k}", held[i][1], leases[i], steps[k], k, 4000 if steps[k] == "record_hidden" else None)
            + (_ts(k * contacts + i), _ts(k * contacts + i))
            for k in display_ks
            for i in range(contacts)
        ),
    )

    def audit_rows() -> Iterator[tuple[Any, ...]]:
        zero = "0" * 64
        for k, step in enumerate(steps):
            for i in range(contacts):
                seq = head_seq + k * contacts + i + 1
                _, session_id, user_ref = held[i]
                details: dict[str, Any] = {"lease_id": leases[i]}
                if step in ("record_issued", "record_reissued"):
                    details.update(session_id=session_id, fields=3)
                elif step in DISPLAY_STEPS:
                    details.update(event_id=f"e{i}-{k}", seq=k, duration_ms=None)
                else:
                    details["code"] = "ok"
                yield (
                    seq,
                    _ts(k * contacts + i).isoformat(timespec="microseconds"),
                    f"agent:{user_ref}",
                    step,
                    "contact",
                    refs[i],
                    json.dumps(details, sort_keys=True, separators=(",", ":")),
                    zero,
                    zero,
                )

    loader.load(
        "auditentry",
        ("seq", "ts", "actor", "action", "object_type", "object_id", "details", "prev_hash", "hash"),
        audit_rows(),
    )
    last = head_seq + per * contacts
    loader.execute(f"UPDATE audithead SET seq = {last} WHERE id = 1")
    for statement in ddl:
        loader.execute(statement)
    loader.commit()
    loader.execute("ANALYZE")
    if not loader.sqlite:
        loader.commit()
    loader.close()
    return time.perf_counter() - started


def _check(result: Any, per: int) -> None:
    [contact] = result.contacts
    assert len(contact.events) == per, len(contact.events)
    assert all(e.agent and e.device and e.address for e in contact.events), contact.events[0]


def run(db: str, root: Path, *, contacts: int, entries: int, lookups: int, agents: int, pg: Any = None) -> Result:
    """Load one fresh installation of ``db`` and time ``lookups`` phone lookups in it."""
    data_dir = root / db
    loaded = data_dir / "bench-loaded.json"
    if not loaded.exists():
        url = pg.new_database() if db == "postgresql" else ""
        init_data_dir(
            data_dir, organisation="Bench", host_names=["localhost"], public_url="https://127.0.0.1:1", database_url=url
        )
    inst = open_installation(data_dir)
    try:
        if loaded.exists():  # --keep: a data dir loaded by an earlier run
            saved = json.loads(loaded.read_text())
            contacts, entries, load_s = saved["contacts"], saved["entries"], saved["load_s"]
        else:
            load_s = _bulk(inst, contacts=contacts, entries=entries, agents=agents, seed=7)
            loaded.write_text(json.dumps({"contacts": contacts, "entries": entries, "load_s": load_s}))
        rng = random.Random(11)
        per = max(1, entries // contacts)
        times: list[float] = []
        cpu: list[float] = []
        for _ in range(lookups):
            digits = _phone(rng.randrange(contacts))[3:]
            phone = f"+48 {digits[:3]} {digits[3:6]} {digits[6:]}"
            started, started_cpu = time.perf_counter(), time.process_time()
            match = match_contacts(inst.engine, inst.keys, phone=phone)
            with session_scope(inst.engine) as session:
                result = lookup(session, contact_ids=match.contact_ids, by=match.by, actor="bench")
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            _check(result, per)
    finally:
        inst.close()
    p50, p99, top = _quantiles(times)
    cpu50, cpu99, _ = _quantiles(cpu)
    return Result(db, contacts, per * contacts, lookups, load_s, p50, p99, top, per, cpu50, cpu99, os.getloadavg()[0])


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p99 (nearest rank) and max."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], ordered[-1]


def describe(r: Result) -> str:
    """Human-readable lines for one result, with the target."""
    mark = "ok" if r.p99_ms < TARGET_P99_MS else "MISSED"
    return "\n".join(
        [
            f"[{r.db}] {r.contacts:,} contacts, {r.entries:,} audit entries ({r.events_per_contact} per contact); "
            f"loaded in {r.load_s:.0f} s",
            f"  lookup --phone over {r.lookups} random phones: p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
            f"max {r.max_ms:.1f} ms  [target p99 < {TARGET_P99_MS:.0f} ms: {mark}]",
            f"  CPU time of this process per lookup: p50 {r.cpu_p50_ms:.1f} ms, p99 {r.cpu_p99_ms:.1f} ms; "
            f"load average {r.load_average:.1f} on {os.cpu_count()} CPUs",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=5_000_000)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="load into this directory and keep it; a later run with the same --keep reuses it (SQLite only)",
    )
    args = parser.parse_args(argv)
    if args.keep is not None and args.db != "sqlite":
        parser.error("--keep works with --db sqlite (the PostgreSQL cluster is thrown away)")
    dbs = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results: list[Result] = []
    pg = None
    if "postgresql" in dbs:
        from tests.support.pg_cluster import PgCluster, find_pg_bin

        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) are not installed")
        pg = PgCluster(bin_dir)
        pg.start()
    try:
        with tempfile.TemporaryDirectory(prefix="custos-lookup-bench-") as tmp:
            for db in dbs:
                results.append(
                    run(
                        db,
                        args.keep or Path(tmp),
                        contacts=args.contacts,
                        entries=args.entries,
                        lookups=args.lookups,
                        agents=args.agents,
                        pg=pg,
                    )
                )
                if not args.json:
                    print(describe(results[-1]), flush=True)
    finally:
        if pg is not None:
            pg.stop()
    if args.json:
        print(json.dumps([asdict(r) for r in results]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
