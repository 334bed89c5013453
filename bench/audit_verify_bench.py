"""Audit verify benchmark: the full pass of ``custos-server audit verify`` beside a read-and-hash floor, same run.

Run by hand from the repository root (results go in bench/README.md)::

    .venv/bin/python -m bench.audit_verify_bench --entries 1000000 --db both

What runs, per database (PostgreSQL in a throwaway cluster, ``tests/support/pg_cluster.py``):
    1. A fresh installation (its initialisation entry written by the real append path), then
       ``--entries`` chained entries built in bulk: each hashed by
       :func:`owner_server.audit.log.entry_hash` from the head on, written with the raw driver
       (``executemany`` on SQLite, ``COPY`` on PostgreSQL) with the head; then 3 entries through
       :func:`owner_server.audit.log.append` and a signed, anchored checkpoint (``Installation.checkpoint``).
    2. Timed, wall clock, each ``--repeat`` times (the best kept), interleaved:
       * floor: every entry read with the raw driver (``sqlite3``; ``psycopg`` through a
         server-side cursor) in seq order and one ``sha256("|".join(fields))`` each, one process;
       * ours: :func:`owner_server.core.datadir.verify_audit` (what the CLI calls) with
         ``--processes`` workers, and with 1 (the serial pass);
       * the CLI: ``python -m owner_server audit verify --json`` end to end, start-up included.
       Every pass of ours must report the log intact, or the bench stops with status 1.
    3. Print entries/s of each, the ratio ours/floor, the CPU time per entry (this process and
       its waited-for children: less sensitive to a loaded machine than the wall clock) and the
       load average before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.per_database import add_db_arguments, run_per_database
from owner_server.audit import log as audit
from owner_server.audit.verify_fast import COLUMNS
from owner_server.audit.verify_ranges import default_processes
from owner_server.core.datadir import Installation, init_data_dir, open_installation, verify_audit
from owner_server.core.db import session_scope
from owner_server.models import AuditEntry, AuditHead

TARGET_PER_S = 500_000
CHUNK = 50_000
INSERT_COLUMNS = COLUMNS.split(", ")


class BrokenLogError(Exception):
    """A timed pass of ours did not find the log intact."""


@dataclass
class Result:
    """One database's figures: entries per second (wall clock, best of ``repeat``) and CPU µs per entry (least)."""

    db: str
    entries: int
    processes: int
    floor_per_s: float
    ours_per_s: float
    ours_serial_per_s: float
    cli_per_s: float
    floor_cpu_us: float
    ours_cpu_us: float
    ours_serial_cpu_us: float
    build_s: float
    load_before: float
    load_after: float

    @property
    def ratio(self) -> float:
        """Ours (with ``processes`` workers) over the floor."""
        return self.ours_per_s / self.floor_per_s


# --- the log ------------------------------------------------------------------------------


def _entries(after: int, prev_hash: str, count: int) -> Iterator[tuple[object, ...]]:
    """``count`` chained entries after seq ``after``, hashed by the real ``entry_hash``."""
    for seq in range(after + 1, after + count + 1):
        row: dict[str, Any] = {
            "seq": seq,
            "ts": f"2026-12-03T08:{seq // 60_000_000 % 60:02d}:{seq // 1_000_000 % 60:02d}.{seq % 1_000_000:06d}+00:00",
            "actor": f"agent:a{seq % 3000:05d}",
            "action": "record_issued" if seq % 2 else "disposition_recorded",
            "object_type": "contact",
            "object_id": str(seq * 7 % 10_000_000),
            "details": json.dumps({"campaign": 1, "lease": seq}, sort_keys=True, separators=(",", ":")),
            "prev_hash": prev_hash,
            "hash": "",
        }
        row["hash"] = prev_hash = audit.entry_hash(AuditEntry.model_construct(**row))
        yield tuple(row[name] for name in INSERT_COLUMNS)


def _write(inst: Installation, rows: list[tuple[object, ...]], head: tuple[int, str]) -> None:
    """Write ``rows`` and move the head to ``head`` in one transaction, with the raw driver."""
    with inst.engine.begin() as conn:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cur = dbapi.cursor()
        if inst.engine.dialect.name == "sqlite":
            marks = ", ".join("?" * len(INSERT_COLUMNS))
            cur.executemany(f"INSERT INTO auditentry ({COLUMNS}) VALUES ({marks})", rows)  # noqa: S608 - constants
            cur.execute("UPDATE audithead SET seq = ?, hash = ? WHERE id = 1", head)
        else:
            with cur.copy(f"COPY auditentry ({COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute("UPDATE audithead SET seq = %s, hash = %s WHERE id = 1", head)


def build(root: Path, url: str, entries: int) -> Installation:
    """A fresh installation in ``root`` whose log holds ``entries`` + 4 chained entries and a checkpoint."""
    data = root / "data"
    init_data_dir(
        data, organisation="Bench", host_names=["localhost"], public_url="https://127.0.0.1:1", database_url=url
    )
    inst = open_installation(data)
    with session_scope(inst.engine) as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        seq, prev = head.seq, head.hash
    made = _entries(seq, prev, entries)
    while chunk := [row for _, row in zip(range(CHUNK), made, strict=False)]:
        seq, prev = int(str(chunk[-1][0])), str(chunk[-1][8])
        _write(inst, chunk, (seq, prev))
    with session_scope(inst.engine) as session:
        for i in range(3):
            audit.append(session, actor="bench", action="bench_done", object_id=str(i), details={"i": i})
    inst.checkpoint()
    return inst


# --- the passes ---------------------------------------------------------------------------


def floor_pass(inst: Installation) -> int:
    """Read every entry with the raw driver in seq order and hash it once; returns the count."""
    sha256, count = hashlib.sha256, 0
    sql = f"SELECT {COLUMNS} FROM auditentry ORDER BY seq"  # noqa: S608 - constants
    url = inst.engine.url
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(url.database))
        try:
            cur = conn.execute(sql)
            while rows := cur.fetchmany(CHUNK):
                for row in rows:
                    sha256("|".join(map(str, row)).encode()).hexdigest()
                count += len(rows)
        finally:
            conn.close()
        return count
    import psycopg

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as pg, pg.cursor(name="floor") as server:
        server.itersize = CHUNK
        server.execute(sql)
        while rows := server.fetchmany(CHUNK):
            for row in rows:
                sha256("|".join(map(str, row)).encode()).hexdigest()
            count += len(rows)
    return count


def ours_pass(inst: Installation, processes: int) -> int:
    """The CLI's full pass, in this process (``processes`` workers); returns the entries checked.

    Raises:
        BrokenLogError: The pass did not find the log intact.
    """
    result = verify_audit(inst.settings, inst.engine, processes=processes)
    if not result.ok:
        raise BrokenLogError(f"entry {result.bad_seq}: {result.reason}")
    return result.entries


def cli_pass(inst: Installation, processes: int) -> int:
    """``python -m owner_server audit verify --json`` end to end; returns the entries checked.

    Raises:
        BrokenLogError: The CLI did not report the log intact.
    """
    cmd = [sys.executable, "-m", "owner_server", "audit", "verify", "--json", "--processes", str(processes)]
    done = subprocess.run(  # noqa: S603 - our own CLI
        [*cmd, "--data-dir", str(inst.settings.data_dir)], capture_output=True, text=True, check=False
    )
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    if done.returncode != 0 or not report.get("ok"):
        raise BrokenLogError(f"exit {done.returncode}: {report.get('reason') or done.stderr.strip()[-200:]}")
    return int(report["entries"])


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children (the pass's workers, the CLI)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _rate(pass_: object, *args: object) -> tuple[float, float]:
    """(entries per second of wall clock, CPU microseconds per entry, workers included) of one pass."""
    started, cpu = time.perf_counter(), _cpu()
    count = pass_(*args)  # type: ignore[operator]
    return float(count) / (time.perf_counter() - started), (_cpu() - cpu) / count * 1e6


def run(db: str, url: str, *, entries: int, processes: int, repeat: int) -> Result:
    """Build one database's log, then time the floor, ours and the CLI on it (best of ``repeat``)."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        inst = build(Path(tmp), url, entries)
        built = time.perf_counter() - started
        try:
            load_before = os.getloadavg()[0]
            rates: dict[str, list[tuple[float, float]]] = {"floor": [], "ours": [], "serial": [], "cli": []}
            for _ in range(repeat):
                rates["floor"].append(_rate(floor_pass, inst))
                rates["ours"].append(_rate(ours_pass, inst, processes))
                rates["serial"].append(_rate(ours_pass, inst, 1))
                rates["cli"].append(_rate(cli_pass, inst, processes))
            best = {name: max(values)[0] for name, values in rates.items()}
            cpu = {name: min(us for _, us in values) for name, values in rates.items()}
            return Result(
                db,
                entries,
                processes,
                best["floor"],
                best["ours"],
                best["serial"],
                best["cli"],
                cpu["floor"],
                cpu["ours"],
                cpu["serial"],
                built,
                load_before,
                os.getloadavg()[0],
            )
        finally:
            inst.close()


def describe(r: Result) -> str:
    """One readable line per database."""
    verdict = "met" if r.ours_per_s >= TARGET_PER_S else "NOT met"
    return (
        f"[{r.db}] {r.entries:,} entries (built in {r.build_s:.0f} s): floor {r.floor_per_s:,.0f}/s; "
        f"ours {r.ours_per_s:,.0f}/s with {r.processes} processes, {r.ours_serial_per_s:,.0f}/s with 1; "
        f"CLI end to end {r.cli_per_s:,.0f}/s; ratio ours/floor {r.ratio:.2f}x; CPU per entry: floor "
        f"{r.floor_cpu_us:.2f} us, ours {r.ours_cpu_us:.2f} us ({r.ours_serial_cpu_us:.2f} with 1 process); "
        f"[target >= {TARGET_PER_S:,}/s: {verdict}]; load average {r.load_before:.1f} -> {r.load_after:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status (1 when a pass of ours finds the log broken)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--processes", type=int, default=default_processes())
    parser.add_argument("--repeat", type=int, default=1)
    add_db_arguments(parser)
    args = parser.parse_args(argv)
    if args.entries < 1 or args.processes < 1 or args.repeat < 1:
        parser.error("--entries, --processes and --repeat must be at least 1")

    def measure(db: str, url: str) -> list[Result]:
        return [run(db, url, entries=args.entries, processes=args.processes, repeat=args.repeat)]

    try:
        return run_per_database(args, measure, describe)
    except BrokenLogError as exc:
        print(f"audit log broken: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
