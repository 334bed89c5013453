"""Pick benchmark: the latency of the pick on a fresh campaign beside the same campaign after K contacts worked.

Run by hand from the repository root (results go in bench/README.md)::

    .venv/bin/python -m bench.pick_bench --contacts 2000000 --worked 1000000 --db both

What runs, per database (PostgreSQL in a throwaway cluster, ``tests/support/pg_cluster.py``):
    1. A fresh installation, one campaign, one agent; ``--contacts`` contacts
       bulk-inserted with SQL (one encrypted payload copied: the pick never
       decrypts), state ``NEW``, random ``pick_key``; ``ANALYZE``.
    2. ``fresh``: :func:`owner_server.work.distribution._pick_contact` timed
       ``--picks`` times, each in a transaction rolled back (median, ms).
    3. The ``--worked`` contacts first in pick order are worked: each gets a
       closed lease of the agent, 90% ``DONE``, 9% retries due later, 1%
       callbacks due later; ``ANALYZE``; the pick is timed again.
    4. Print both medians and the ratio worked/fresh (target: at most 1.2x).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from bench.per_database import add_db_arguments, run_per_database
from owner_server.core.datadir import init_data_dir, open_installation
from owner_server.core.db import session_scope
from owner_server.identity import admin, bearer
from owner_server.models import Campaign, User
from owner_server.work import claim_sql, distribution
from owner_server.work.context import load_context
from shared.policy import CampaignPolicy

TARGET_RATIO = 1.2
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
POLICY = CampaignPolicy.model_validate(
    {
        "script": "Hello",
        "fields": {"first_name": "visible"},
        "dispositions": [{"code": "no_answer", "label": "No answer"}],
        "strategy": {
            "windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}]
        },
    }
)
CHUNK = 50_000
BENCH_PASSWORD = "bench password 1"  # noqa: S105 - the throwaway agent of a benchmark
WORKED = "id IN (SELECT id FROM w)"


@dataclass
class Result:
    """One database's figures (milliseconds, medians of ``picks``)."""

    db: str
    contacts: int
    worked: int
    fresh_ms: float
    worked_ms: float
    #: Each tier's statement alone, fresh then worked (ms, medians): which tier grows, if one does.
    fresh_tiers_ms: tuple[float, ...] = ()
    worked_tiers_ms: tuple[float, ...] = ()

    @property
    def ratio(self) -> float:
        """Worked over fresh."""
        return self.worked_ms / self.fresh_ms


def _seed(inst: Any, contacts: int) -> tuple[int, int]:
    with session_scope(inst.engine) as session:
        admin.add_outsourcer(session, name="BPO", actor="bench")
        camp = admin.create_campaign(session, name="Bench", policy=POLICY, keys=inst.keys, actor="bench")
        key = inst.keys.campaign_key(session, campaign_id=camp.id)
        admin.add_agent(session, login="agent0", outsourcer="BPO", campaign="Bench", password=BENCH_PASSWORD, actor="b")  # noqa: S106
        payload = key.cipher.encrypt_fields("r", {"first_name": "Imię", "phone": "+48500000000"})
        camp_id, key_id = camp.id, key.data_key_id
    pg = inst.engine.dialect.name == "postgresql"
    rnd = "floor(random() * 2147483646)::bigint" if pg else "abs(random()) % 2147483646"
    ref = "md5(g::text)" if pg else "printf('%032x', g)"
    bidx = "decode(md5(g::text), 'hex')" if pg else "randomblob(16)"
    series = (
        "generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS g"
        if pg
        else "(WITH RECURSIVE s(g) AS (SELECT :lo UNION ALL SELECT g + 1 FROM s WHERE g < :hi) SELECT g FROM s)"
    )
    sql = text(
        "INSERT INTO contact (ref, campaign_id, data_key_id, payload, phone_bidx, state, attempts, source_record,"  # noqa: S608
        f" pick_key, is_canary) SELECT {ref}, :camp, :key, :payload, {bidx}, 'NEW', 0, g, {rnd}, false FROM {series}"
    )
    with inst.engine.begin() as conn:
        for lo in range(1, contacts + 1, CHUNK):
            hi = min(lo + CHUNK - 1, contacts)
            conn.execute(sql, {"camp": camp_id, "key": key_id, "payload": payload, "lo": lo, "hi": hi})
    with Session(inst.engine) as session:
        user = session.exec(select(User).where(User.login == "agent0")).one()
        assert user.id is not None and camp_id is not None
        return camp_id, user.id


def _work(inst: Any, camp_id: int, user_id: int, worked: int) -> None:
    """Work the ``worked`` contacts first in pick order (a lease each; done, retry later, or callback later)."""
    pg = inst.engine.dialect.name == "postgresql"
    later = (NOW + timedelta(days=2)).replace(tzinfo=None).isoformat(sep=" ")
    lease_id = "md5(c.id::text)" if pg else "printf('%032x', c.id)"
    with inst.engine.begin() as conn:
        conn.execute(
            text("CREATE TEMP TABLE w AS SELECT id FROM contact WHERE campaign_id = :c ORDER BY pick_key LIMIT :k"),
            {"c": camp_id, "k": worked},
        )
        conn.execute(
            text(
                "INSERT INTO lease (id, user_id, contact_id, campaign_id, issued_at, expires_at, closed_at, reissues)"  # noqa: S608
                f" SELECT {lease_id}, :u, c.id, :c, :t, :t, :t, 0 FROM w AS c"
            ),
            {"u": user_id, "c": camp_id, "t": later},
        )
        conn.execute(text("UPDATE contact SET state = 'DONE', attempts = 1 WHERE " + WORKED + " AND id % 100 < 90"))
        conn.execute(
            text(
                "UPDATE contact SET attempts = 1, next_eligible_at = :t WHERE "
                + WORKED
                + " AND id % 100 BETWEEN 90 AND 98"
            ),
            {"t": later},
        )
        conn.execute(
            text(
                "UPDATE contact SET state = 'CALLBACK', attempts = 1, callback_at = :t WHERE "
                + WORKED
                + " AND id % 100 = 99"
            ),
            {"t": later},
        )
        conn.execute(text("DROP TABLE w"))
    _analyze(inst)


def _analyze(inst: Any) -> None:
    with inst.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _context(session: Session, user_id: int) -> Any:
    """The agent's work context, as its authentication gives it (no ORM row to expire between picks)."""
    user = session.get(User, user_id)
    assert user is not None
    return load_context(bearer.principal_for(session, user=user, session_id="bench", device_id="bench"))


def _time_pick(inst: Any, user_id: int, picks: int) -> float:
    times = []
    with Session(inst.engine) as session:
        ctx = _context(session, user_id)
        for _ in range(picks):
            started = time.perf_counter()
            contact = distribution._pick_contact(session, ctx=ctx, now=NOW)
            times.append((time.perf_counter() - started) * 1000)
            assert contact is not None  # a row of the pick (id, ref, payload, data_key_id, attempts)
            session.rollback()
    return statistics.median(times)


def _time_tiers(inst: Any, user_id: int, picks: int) -> tuple[float, ...]:
    """Each tier's statement (:func:`distribution.tier_statements`) alone, median ms of ``picks`` runs."""
    medians = []
    with Session(inst.engine) as session:
        ctx = _context(session, user_id)
        params = distribution.pick_params(ctx, NOW)
        for stmt in distribution.tier_statements():
            times = []
            for _ in range(picks):
                started = time.perf_counter()
                claim_sql.run(session, stmt, params).first()
                times.append((time.perf_counter() - started) * 1000)
                session.rollback()
            medians.append(statistics.median(times))
    return tuple(medians)


def run(db: str, url: str, *, contacts: int, worked: int, picks: int) -> Result:
    """Seed one database, time the pick fresh, work ``worked`` contacts, time it again."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        init_data_dir(
            data, organisation="Bench", host_names=["localhost"], public_url="https://127.0.0.1:1", database_url=url
        )
        inst = open_installation(data)
        try:
            camp_id, user_id = _seed(inst, contacts)
            _analyze(inst)
            fresh = _time_pick(inst, user_id, picks)
            fresh_tiers = _time_tiers(inst, user_id, picks)
            _work(inst, camp_id, user_id, worked)
            after = _time_pick(inst, user_id, picks)
            worked_tiers = _time_tiers(inst, user_id, picks)
            with Session(inst.engine) as session:
                assert session.exec(select(Campaign)).one().id == camp_id
            return Result(db, contacts, worked, fresh, after, fresh_tiers, worked_tiers)
        finally:
            inst.close()


def describe(r: Result) -> str:
    """One readable line per database."""
    verdict = "met" if r.ratio <= TARGET_RATIO else "NOT met"
    return (
        f"[{r.db}] {r.contacts:,} contacts: pick fresh {r.fresh_ms:.3f} ms; after {r.worked:,} worked "
        f"{r.worked_ms:.3f} ms; ratio {r.ratio:.2f}x [target <= {TARGET_RATIO}x: {verdict}]; each tier alone "
        f"fresh {' '.join(f'{t:.3f}' for t in r.fresh_tiers_ms)} ms, after "
        f"{' '.join(f'{t:.3f}' for t in r.worked_tiers_ms)} ms"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2_000_000)
    parser.add_argument("--worked", type=int, default=1_000_000)
    parser.add_argument("--picks", type=int, default=200)
    add_db_arguments(parser)
    args = parser.parse_args(argv)
    if not 0 < args.worked < args.contacts:
        parser.error("--worked must be between 1 and --contacts - 1")

    def measure(db: str, url: str) -> list[Result]:
        return [run(db, url, contacts=args.contacts, worked=args.worked, picks=args.picks)]

    return run_per_database(args, measure, describe)


if __name__ == "__main__":
    raise SystemExit(main())
