"""Import benchmark: our import of a demo contact list beside an unencrypted floor, same run.

Run by hand from the repository root (results go in bench/README.md)::

    .venv/bin/python -m bench.import_bench --rows 1000000 --db both

Steps:
    1. Write ``--rows`` contacts with the demo's Faker generator
       (:func:`owner_server.demo.sample.write_sample`: Polish Excel CSV,
       Windows-1250, ``;``, CRLF, 8 columns) into a temporary directory.
    2. Per database, two fresh installations (same migrated schema):
       * the floor: the CSV read with :mod:`csv` and its rows put unencrypted
         into the same ``contact`` table (payload = the raw cells joined,
         ``phone_bidx`` = the raw phone cell, time-ordered refs like ours), in
         one transaction: plain :mod:`sqlite3` ``executemany`` on SQLite,
         ``COPY ... FROM STDIN`` on PostgreSQL;
       * ours: a child process runs the CLI's code path (``open_file`` +
         :func:`owner_server.lists.importer.import_file`) into a campaign,
         sampling the resident memory of itself and its workers every 100,000
         records.
    3. Print rows/s of both, the ratio, and peak RSS (the importing process
       and its largest worker, from ``getrusage``) and RSS at 100,000 records
       vs at the end (flatness).

PostgreSQL runs in a throwaway cluster (``tests/support/pg_cluster.py``;
needs ``initdb``/``pg_ctl``); it runs with ``fsync=off``, like the tests.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from owner_server.core.datadir import init_data_dir, open_installation
from owner_server.core.db import session_scope
from owner_server.demo.sample import write_sample
from owner_server.identity import admin
from owner_server.lists.import_workers import STAGED_COLUMNS, new_ref
from owner_server.models import ContactState
from owner_server.models.contacts import new_pick_key

CAMPAIGN = "Bench"
SAMPLE_EVERY = 100_000
#: Issue 10: ours at least half the floor on both databases, peak RSS under 300 MB.
TARGET_RATIO = 0.5
TARGET_PEAK_RSS_MB = 300


@dataclass
class ImportRun:
    """What the child process measured."""

    rows: int
    imported: int
    seconds: float
    staging_seconds: float
    peak_rss_mb: float
    worker_peak_rss_mb: float
    rss_at: dict[int, tuple[float, float]]  # records handled -> (RSS, PSS) of the import's processes (MB)


@dataclass
class Result:
    """One database's line of the report."""

    db: str
    rows: int
    floor_rows_per_s: float
    ours_rows_per_s: float
    ratio: float
    ours: ImportRun


# --- installations -----------------------------------------------------------------------


def _installation(root: Path, name: str, database_url: str) -> tuple[Path, int, int]:
    """Create a data dir with one campaign; return (data dir, campaign id, data key id)."""
    from shared.policy import CampaignPolicy

    data_dir = root / name
    init_data_dir(
        data_dir,
        organisation="Bench",
        host_names=["localhost"],
        public_url="https://127.0.0.1:1",
        database_url=database_url,
    )
    inst = open_installation(data_dir)
    try:
        policy = CampaignPolicy.model_validate(
            {"script": "Hi", "fields": {"first_name": "visible"}, "dispositions": [{"code": "ok", "label": "OK"}]}
        )
        with session_scope(inst.engine) as session:
            campaign = admin.create_campaign(session, name=CAMPAIGN, policy=policy, keys=inst.keys, actor="bench")
            assert campaign.id is not None
            key = inst.keys.campaign_key(session, campaign_id=campaign.id)
        return data_dir, campaign.id, key.data_key_id
    finally:
        inst.close()


# --- the floor ---------------------------------------------------------------------------


def _floor_rows(path: Path, campaign_id: int, data_key_id: int) -> Iterator[tuple[object, ...]]:
    """The CSV's rows as unencrypted contact rows (the phone cell is column 3, ``Telefon``)."""
    new = ContactState.NEW.name
    with path.open(encoding="cp1250", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        next(reader)
        for record_no, cells in enumerate(reader, start=1):
            yield (
                new_ref(),
                campaign_id,
                None,
                data_key_id,
                ";".join(cells).encode(),
                cells[2].encode(),
                new,
                0,
                record_no,
                new_pick_key(),
                0,
            )


def floor_sqlite(path: Path, db_file: Path, campaign_id: int, data_key_id: int) -> float:
    """Seconds to put the CSV's rows, unencrypted, into ``contact`` with one ``executemany``."""
    sql = f"INSERT INTO contact ({', '.join(STAGED_COLUMNS)}) VALUES ({', '.join('?' * len(STAGED_COLUMNS))})"
    conn = sqlite3.connect(db_file, isolation_level=None)
    try:
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(sql, _floor_rows(path, campaign_id, data_key_id))
        conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


def floor_postgresql(path: Path, url: str, campaign_id: int, data_key_id: int) -> float:
    """Seconds to ``COPY`` the CSV's rows, unencrypted, into ``contact`` in one transaction."""
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(f"COPY contact ({', '.join(STAGED_COLUMNS)}) FROM STDIN") as copy:
            for row in _floor_rows(path, campaign_id, data_key_id):
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


# --- ours, in a child process ------------------------------------------------------------


def _tree_memory_mb() -> tuple[float, float]:
    """RSS and PSS of this process and its children (the import workers) together, in MB (Linux).

    RSS counts pages shared between the processes (libraries) once per process;
    PSS splits them, so the PSS sum is the memory the import really occupies.
    """
    me = os.getpid()
    rss = pss = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if int(entry.name) != me and ppid != me:
                continue
            for line in (entry / "smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return rss / 1024, pss / 1024


def run_import(csv_path: Path, data_dir: Path, workers: int | None) -> ImportRun:
    """Import the CSV into the bench campaign exactly as ``custos-server import`` does."""
    from owner_server.lists.importer import import_file
    from owner_server.lists.importing.pipeline import open_file

    inst = open_installation(data_dir)
    rss_at: dict[int, tuple[float, float]] = {}
    staged_at = [0.0]
    try:
        started = time.perf_counter()

        def on_progress(done: int) -> None:
            staged_at[0] = time.perf_counter() - started
            mark = done // SAMPLE_EVERY * SAMPLE_EVERY
            if mark and mark not in rss_at:
                rss_at[mark] = tuple(round(v, 1) for v in _tree_memory_mb())

        opened = open_file(csv_path)
        report = import_file(
            inst.engine,
            keys=inst.keys,
            campaign_name=CAMPAIGN,
            opened=opened,
            actor="admin:bench",
            on_progress=on_progress,
            workers=workers,
        )
        seconds = time.perf_counter() - started
    finally:
        inst.close()
    return ImportRun(
        rows=report.imported + len(report.rejected) + len(report.duplicates),
        imported=report.imported,
        seconds=seconds,
        staging_seconds=staged_at[0],
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        worker_peak_rss_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        rss_at=rss_at,
    )


def _import_in_child(csv_path: Path, data_dir: Path, workers: int | None) -> ImportRun:
    cmd = [sys.executable, "-m", "bench.import_bench", "--child", str(csv_path), str(data_dir)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    data = json.loads(done.stdout.strip().splitlines()[-1])
    data["rss_at"] = {int(k): tuple(v) for k, v in data["rss_at"].items()}
    return ImportRun(**data)


# --- the run -----------------------------------------------------------------------------


def bench_db(db: str, csv_path: Path, rows: int, root: Path, workers: int | None, pg: object = None) -> Result:
    """Run the floor, then ours, on fresh installations of one database."""
    url_floor = url_ours = ""
    if db == "postgresql":
        url_floor, url_ours = pg.new_database(), pg.new_database()  # type: ignore[attr-defined]
    floor_dir, campaign_id, data_key_id = _installation(root, f"{db}-floor", url_floor)
    ours_dir, _, _ = _installation(root, f"{db}-ours", url_ours)
    if db == "sqlite":
        floor_s = floor_sqlite(csv_path, floor_dir / "custos.db", campaign_id, data_key_id)
    else:
        floor_s = floor_postgresql(csv_path, url_floor, campaign_id, data_key_id)
    ours = _import_in_child(csv_path, ours_dir, workers)
    floor_rate, ours_rate = rows / floor_s, rows / ours.seconds
    return Result(db, rows, floor_rate, ours_rate, ours_rate / floor_rate, ours)


def describe(result: Result) -> str:
    """Human-readable lines for one result, with the targets."""
    o = result.ours
    verdict = "met" if result.ratio >= TARGET_RATIO else "NOT met"
    marks = sorted(o.rss_at)
    flat = "n/a (fewer than 100,000 rows)"
    if marks:
        (rss0, pss0), (rss1, pss1) = o.rss_at[marks[0]], o.rss_at[marks[-1]]
        flat = f"RSS {rss0:.0f} → {rss1:.0f} MB, PSS {pss0:.0f} → {pss1:.0f} MB from {marks[0]:,} to {marks[-1]:,} rows"
    lines = [
        f"[{result.db}] {result.rows:,} rows",
        f"  floor (unencrypted, same table): {result.floor_rows_per_s:,.0f} rows/s",
        f"  ours (normalise, dedupe, encrypt, stage, publish): {result.ours_rows_per_s:,.0f} rows/s "
        f"({o.seconds:.1f} s; publish {o.seconds - o.staging_seconds:.1f} s)",
        f"  ratio ours/floor: {result.ratio:.2f}x  [target >= {TARGET_RATIO}x: {verdict}]",
        f"  peak RSS: importing process {o.peak_rss_mb:.0f} MB, largest worker {o.worker_peak_rss_mb:.0f} MB"
        f"  [target {TARGET_PEAK_RSS_MB} MB]",
        f"  import process + workers together: {flat}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", nargs=2, metavar=("CSV", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run = run_import(Path(args.child[0]), Path(args.child[1]), args.workers)
        print(json.dumps(asdict(run)))
        return 0

    dbs = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="custos-bench-") as tmp:
        root = Path(tmp)
        csv_path = root / "contacts.csv"
        started = time.perf_counter()
        write_sample(csv_path, args.rows)
        if not args.json:
            print(f"wrote {args.rows:,} demo contacts in {time.perf_counter() - started:.1f} s; cpus: {os.cpu_count()}")
        pg = None
        if "postgresql" in dbs:
            from tests.support.pg_cluster import PgCluster, find_pg_bin

            bin_dir = find_pg_bin()
            if bin_dir is None:
                raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) are not installed")
            pg = PgCluster(bin_dir)
            pg.start()
        try:
            for db in dbs:
                results.append(bench_db(db, csv_path, args.rows, root, args.workers, pg))
                if not args.json:
                    print(describe(results[-1]))
        finally:
            if pg is not None:
                pg.stop()
    if args.json:
        print(json.dumps([asdict(r) for r in results]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
