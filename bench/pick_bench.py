"""Pick benchmark: the latency of one pick on a fresh campaign beside the same campaign after K contacts worked.

Run by hand from the repository root (results go in bench/README.md)::

    .venv/bin/python -m bench.pick_bench --contacts 2000000 --worked 1000000 --picks 300 --db both

What runs, per database, in one process:
    1. A fresh installation with one campaign and one agent; ``--contacts``
       contacts inserted by one bulk SQL statement (``generate_series`` on
       PostgreSQL, a recursive CTE on SQLite: dummy ciphertext, random
       ``pick_key``), then ANALYZE.
    2. ``fresh``: ``--picks`` picks (:func:`owner_server.work.distribution._pick_contact`,
       the real statement with its bind parameters, each in its own
       transaction, rolled back so the campaign stays as it is).
    3. ``--worked`` contacts are then marked as worked the way a running
       campaign leaves them, taken in issue order (lowest ``pick_key`` first,
       as the pick issues them): a lease each by the agent, 80% done, 15%
       retries not yet due, 5% callbacks not yet due; ANALYZE.
    4. ``worked``: the same picks again. Print the median of both and the
       ratio worked/fresh (target: at most 1.2x).

On PostgreSQL the session runs with ``plan_cache_mode = force_generic_plan``:
the plan a prepared statement settles on (psycopg prepares a statement after
five executions), so the bench measures the worst plan the server can use,
not only the first custom ones. PostgreSQL runs in a throwaway cluster
(``tests/support/pg_cluster.py``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from owner_server.core.datadir import init_data_dir, open_installation
from owner_server.core.db import session_scope
from owner_server.identity import admin
from owner_server.models import User
from owner_server.work import distribution
from owner_server.work.context import load_context
from shared.policy import CampaignPolicy

TARGET_RATIO = 1.2
BENCH_PASSWORD = "bench password 1"  # noqa: S105 - the throwaway agent of a benchmark
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

_PG_FILL = """
INSERT INTO contact (ref, campaign_id, batch_id, data_key_id, payload, phone_bidx, state, attempts,
                     source_record, pick_key, is_canary)
SELECT md5('c' || i), :camp, NULL, :key, '\\x00'::bytea, decode(md5('p' || i), 'hex'), 'NEW', 0,
       i, (random() * 2147483646)::int, false
FROM generate_series(1, :n) AS i
"""
_SQLITE_FILL = """
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n)
INSERT INTO contact (ref, campaign_id, batch_id, data_key_id, payload, phone_bidx, state, attempts,
                     source_record, pick_key, is_canary)
SELECT lower(hex(randomblob(16))), :camp, NULL, :key, x'00', randomblob(32), 'NEW', 0,
       i, abs(random()) % 2147483646, 0
FROM s
"""
# the first K in issue order: 80% done, 15% retries due later, 5% callbacks due later (by id, a random mix)
_WORKED = "CREATE TEMPORARY TABLE worked AS SELECT id FROM contact ORDER BY pick_key LIMIT :k"
_MARK = """
UPDATE contact SET attempts = 1,
  state = {cast}(CASE WHEN id % 20 < 16 THEN 'DONE' WHEN id % 20 < 19 THEN 'NEW' ELSE 'CALLBACK' END){to},
  next_eligible_at = CASE WHEN id % 20 >= 16 AND id % 20 < 19 THEN :later END,
  callback_at = CASE WHEN id % 20 = 19 THEN :later END
WHERE id IN (SELECT id FROM worked)
"""
_LEASES = """
INSERT INTO lease (id, user_id, contact_id, campaign_id, issued_at, expires_at, closed_at, reissues)
SELECT {ref}, :user, id, :camp, :at, :at, :at, 0 FROM worked
"""


@dataclass
class Result:
    """One database's figures (milliseconds per pick)."""

    db: str
    contacts: int
    worked: int
    fresh_ms: float
    worked_ms: float

    @property
    def ratio(self) -> float:
        """Median worked / median fresh."""
        return self.worked_ms / self.fresh_ms


def _seed(inst: Any, contacts: int) -> tuple[int, int, int]:
    with session_scope(inst.engine) as session:
        admin.add_outsourcer(session, name="BPO", actor="bench")
        camp = admin.create_campaign(session, name="Bench", policy=POLICY, keys=inst.keys, actor="bench")
        key = inst.keys.campaign_key(session, campaign_id=camp.id)
        admin.add_agent(session, login="agent0", outsourcer="BPO", campaign="Bench", password=BENCH_PASSWORD, actor="b")
        camp_id, key_id = camp.id, key.data_key_id
    pg = inst.engine.dialect.name == "postgresql"
    with session_scope(inst.engine) as session:
        session.execute(text(_PG_FILL if pg else _SQLITE_FILL), {"camp": camp_id, "key": key_id, "n": contacts})
    with Session(inst.engine) as session:
        user = session.exec(select(User).where(User.login == "agent0")).one()
        assert user.id is not None
        return camp_id, key_id, user.id


def _work(inst: Any, camp_id: int, user_id: int, worked: int) -> None:
    pg = inst.engine.dialect.name == "postgresql"
    ref = "md5('l' || id)" if pg else "lower(hex(randomblob(16)))"
    with session_scope(inst.engine) as session:
        session.execute(text(_WORKED), {"k": worked})
        mark = _MARK.format(cast="", to="::contactstate") if pg else _MARK.format(cast="", to="")
        session.execute(text(mark), {"later": NOW + timedelta(days=1)})
        session.execute(text(_LEASES.format(ref=ref)), {"user": user_id, "camp": camp_id, "at": NOW})
        session.execute(text("DROP TABLE worked"))


def _analyze(inst: Any) -> None:
    with inst.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if inst.engine.dialect.name == "postgresql" else "ANALYZE"))


def _time_picks(inst: Any, user_id: int, picks: int) -> float:
    """Median milliseconds of one pick (the statement and its row fetch), over ``picks`` transactions."""
    times = []
    with Session(inst.engine) as session:
        if inst.engine.dialect.name == "postgresql":
            session.execute(text("SET plan_cache_mode = force_generic_plan"))
            session.commit()
        user = session.get(User, user_id)
        assert user is not None
        ctx = load_context(session, user=user)
        for _ in range(picks):
            started = time.perf_counter()
            contact = distribution._pick_contact(session, ctx=ctx, now=NOW)
            times.append(time.perf_counter() - started)
            assert contact is not None, "nothing to pick: the bench is wrong"
            session.rollback()
    return statistics.median(times) * 1000


def run(db: str, url: str, *, contacts: int, worked: int, picks: int) -> Result:
    """Seed one database, time the pick fresh, work ``worked`` contacts, time it again."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        init_data_dir(
            data, organisation="Bench", host_names=["localhost"], public_url="https://127.0.0.1:1", database_url=url
        )
        inst = open_installation(data)
        try:
            camp_id, _key_id, user_id = _seed(inst, contacts)
            _analyze(inst)
            fresh = _time_picks(inst, user_id, picks)
            _work(inst, camp_id, user_id, worked)
            _analyze(inst)
            after = _time_picks(inst, user_id, picks)
            return Result(db, contacts, worked, fresh, after)
        finally:
            inst.close()


def describe(result: Result) -> str:
    """One readable line per database."""
    verdict = "met" if result.ratio <= TARGET_RATIO else "NOT met"
    return (
        f"[{result.db}] {result.contacts:,} contacts: pick fresh {result.fresh_ms:.3f} ms; after "
        f"{result.worked:,} worked {result.worked_ms:.3f} ms; ratio worked/fresh {result.ratio:.2f}x "
        f"[target at most {TARGET_RATIO}x: {verdict}]"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 0 (figures are for reading, not asserting)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--worked", type=int, default=100_000)
    parser.add_argument("--picks", type=int, default=200)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line last")
    args = parser.parse_args(argv)
    if not 0 < args.worked < args.contacts:
        print("--worked must be between 0 and --contacts", file=sys.stderr)
        return 2
    results = []
    if args.db in ("sqlite", "both"):
        results.append(run("sqlite", "", contacts=args.contacts, worked=args.worked, picks=args.picks))
        print(describe(results[-1]), flush=True)
    if args.db in ("postgresql", "both"):
        from tests.support.pg_cluster import PgCluster, find_pg_bin

        bin_dir = find_pg_bin()
        if bin_dir is None:
            print("PostgreSQL binaries (initdb, pg_ctl) are not installed", file=sys.stderr)
            return 2
        cluster = PgCluster(bin_dir)
        cluster.start()
        try:
            url = cluster.new_database()
            results.append(run("postgresql", url, contacts=args.contacts, worked=args.worked, picks=args.picks))
            print(describe(results[-1]), flush=True)
        finally:
            cluster.stop()
    if args.json:
        print(json.dumps([{**asdict(r), "ratio": r.ratio} for r in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
