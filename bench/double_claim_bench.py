"""Double claims over a long run: several server processes behind one PostgreSQL, every limit and rule on.

Issue 11's target: "two server processes on two ports behind one PostgreSQL as a load balancer
would use them: 0 double claims in 1,000,000, the audit log verifies, and the containment limits
and rules hold across processes (a rogue agent spraying both processes still stops at its limit)".

Run by hand from the repository root (results in bench/README.md, "Double claims over a long run")::

    nice -n 10 .venv/bin/python -m bench.double_claim_bench --claims 1000000 --servers 2 --workers 1 \\
        --agents 200 --out /work/runs/dc-1m

What one run does, everything under ``--out`` (which must not exist, or be empty):
    1. A throwaway PostgreSQL cluster in ``OUT/pg`` (``tests/support/pg_cluster.py``), an installation in
       ``OUT/data`` with ``--agents`` honest agents (outsourcer BPO) and one rogue (outsourcer ROGUE, its own
       per-hour and per-day limit ``--rogue-limit``), one campaign with every limit and rule on
       (``contained_policy``; ``max_attempts`` 1, so each contact is leased once), sized by
       :func:`limits_for`.
    2. ``--contacts`` demo contacts (default claims + margin) written as a CSV and imported with
       ``custos-server import`` (the real importer: normalise, encrypt, blind index).
    3. ``--servers`` ``custos-server serve --workers W`` processes over TLS on loopback; every agent sends
       each request to the next server in turn (a load balancer's view).
    4. The honest agents claim (``/next`` then ``/dispositions``) back to back until ``--claims`` are done
       (``bench/claim_agents.py``); the rogue's ``--rogue-lanes`` parallel lanes spray ``/next`` at both
       servers at once, every ``--rogue-every`` s, the whole time.
    5. Every ``--progress-s`` one JSON line in ``OUT/progress.jsonl``. SIGTERM or SIGINT stops the load;
       the checks still run on what was done (a second signal aborts them).
    6. Checks: every lease (:func:`tests.support.multi_server.check_leases`: no contact open twice, no
       overlap), ``record_issued`` entries = leases, the rogue's leases per local day = its limit, no
       honest agent at a limit, ``custos-server audit verify`` (full pass). ``OUT/result.json`` and
       ``OUT/result.txt``; exit 0 only when every check holds.

Servers and PostgreSQL are stopped at exit, on error too; ``--keep-db`` keeps the cluster's files.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from pathlib import Path
from types import FrameType
from typing import Any

from bench import claim_agents, wire_load
from bench.double_claim_checks import check_all, describe, limits_for
from bench.proc_cpu import load_average, tree_cpu_s, tree_rss_mb
from owner_server.demo.sample import write_sample
from tests.support.multi_server import AGENT_PASSWORD, contained_policy, free_port, seed, serve, set_session_settings
from tests.support.wire_agent import tls_context

__all__ = ["main", "run"]

#: Connections one server process may hold (``core.db.make_engine``: pool 10 + overflow 20); PostgreSQL's default.
POOL_MAX, PG_CONNECTIONS = 30, 100


class Probe:
    """What the progress lines read: the server and database process trees, this process's own CPU."""

    def __init__(self, servers: list[subprocess.Popen[bytes]], database: int) -> None:
        self.servers, self.database, self.began = servers, database, time.monotonic()
        self.loading = False  # set once every agent is logged in and the claims begin
        self.cpu0 = self.cpu()

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: servers, database server, this generator."""
        servers = tree_cpu_s(*(p.pid for p in self.servers), reaped=True)
        database = tree_cpu_s(self.database, reaped=True)
        return {"servers_s": servers, "db_s": database, "generator_s": time.process_time()}

    def used(self) -> dict[str, float]:
        """CPU seconds since the load began, per part."""
        return {k: round(v - self.cpu0[k], 1) for k, v in self.cpu().items()}


def _line(run: claim_agents.Run, probe: Probe, last: tuple[float, int]) -> dict[str, Any]:
    now, elapsed = time.monotonic(), time.monotonic() - probe.began
    return {
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "elapsed_s": round(elapsed, 1),
        "claims": run.done,
        "rate_per_s": round((run.done - last[1]) / max(now - last[0], 1e-9), 1),
        "mean_rate_per_s": round(run.done / max(elapsed, 1e-9), 1),
        "errors": dict(run.honest.errors),
        "retried_503": run.honest.retried,
        "rogue_leases": len(run.rogue_leases),
        "rogue_refusals": dict(run.rogue_refusals),
        "refreshes": run.refreshes,
        "logins": run.logins,
        "cpu_s": probe.used(),
        "server_rss_mb": [tree_rss_mb(p.pid) for p in probe.servers],
        "load": load_average(),
    }


async def _progress(run: claim_agents.Run, probe: Probe, path: Path, every_s: float, stall_s: float) -> None:
    """Append a line every ``every_s``; stop the run when a server exits, no claim is done for ``stall_s``, or the
    logins before the claims take over 3 x ``stall_s``."""
    last, progressed, loading = (time.monotonic(), 0), time.monotonic(), probe.loading
    while not run.stop.is_set():
        with suppress(TimeoutError):
            await asyncio.wait_for(run.stop.wait(), every_s)
        try:
            with path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(_line(run, probe, last)) + "\n")
        except OSError as exc:  # a full disk: the run goes on, the line is lost
            run.honest.error(f"progress: {type(exc).__name__}")
        if run.done > last[1] or probe.loading != loading:  # a claim done, or the claims began
            progressed, loading = time.monotonic(), probe.loading
        last = (time.monotonic(), run.done)
        dead = [n for n, p in enumerate(probe.servers) if p.poll() is not None]
        if dead:
            run.halt(f"server {dead[0]} exited")
        elif time.monotonic() - progressed > (stall_s if probe.loading else 3 * stall_s):
            run.halt(f"stalled: no claim for {stall_s:.0f} s" if probe.loading else "stalled: logins not done")


async def drive(urls: list[str], ca: Path, agents: dict[str, list[tuple[str, str]]], probe: Probe, args: Any) -> Any:
    """Enrol and log in every agent, run the honest loop and the rogue until done or stopped; the run's state.

    The progress task runs from the start, so a server that dies or a login phase that hangs
    for 10 minutes stops the run too.
    """
    run, tls = claim_agents.Run(target=args.claims, password=AGENT_PASSWORD), tls_context(ca)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, run.halt, f"signal {sig.name}")
    others = [asyncio.ensure_future(_progress(run, probe, args.out / "progress.jsonl", args.progress_s, 600))]
    made: list[wire_load.Agent] = []
    try:
        honest = await wire_load.enrol_all(urls, tls, agents["BPO"])
        for n, agent in enumerate(honest):  # half the agents' /next go to each server (a claim is 2 requests)
            agent.turn = n
        [rogue] = await wire_load.enrol_all(urls, tls, agents["ROGUE"])
        lanes = [wire_load.Agent(urls, tls, rogue.login) for _ in range(args.rogue_lanes)]
        for n, lane in enumerate(lanes):
            lane.turn = n
        made += [*honest, rogue, *lanes]
        began = time.monotonic()
        await asyncio.gather(*(claim_agents.authenticate(a, run, run.honest) for a in [*honest, rogue]))
        login_s = time.monotonic() - began
        probe.began, probe.cpu0, probe.loading = time.monotonic(), probe.cpu(), True
        lock = asyncio.Lock()
        others += [asyncio.ensure_future(claim_agents.rogue_lane(x, rogue, run, args.rogue_every, lock)) for x in lanes]
        await asyncio.gather(*(claim_agents.honest_agent(a, run) for a in honest))
        run.halt("done")
        await asyncio.gather(*others)
    finally:
        for task in others:
            task.cancel()
        for agent in made:
            await agent.close()
    return run, login_s, time.monotonic() - probe.began


class ImportJob:
    """``contacts`` demo contacts written as a CSV, then ``custos-server import`` of it in a child process."""

    def __init__(self, out: Path, data_dir: Path, contacts: int) -> None:
        self.csv, self.report, began = out / "contacts.csv", out / "import.json", time.monotonic()
        write_sample(self.csv, contacts)
        self.csv_s, self.began = round(time.monotonic() - began, 1), time.monotonic()
        args = [sys.executable, "-m", "owner_server", "import", str(self.csv), "--campaign", "Multi"]
        with self.report.open("wb") as report:
            self.proc = subprocess.Popen([*args, "--data-dir", str(data_dir), "--json"], stdout=report)  # noqa: S603

    def stop(self) -> None:
        """Kill the import if it still runs (on an error elsewhere)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def wait(self) -> dict[str, Any]:
        """Wait for the import; its figures.

        Raises:
            RuntimeError: The import failed.
        """
        if self.proc.wait() != 0:
            raise RuntimeError(f"the import exited {self.proc.returncode}")
        self.csv.unlink()
        imported = int(json.loads(self.report.read_text(encoding="utf-8"))["imported"])
        return {"imported": imported, "csv_s": self.csv_s, "import_s": round(time.monotonic() - self.began, 1)}


def _serve_all(stack: ExitStack, data_dir: Path, out: Path, workers: int, ports: list[int]) -> list[Any]:
    """Start one ``serve`` per port at the same time; each is stopped when ``stack`` closes."""
    managers = [serve(data_dir, port, out / f"server-{n}.log", workers=workers) for n, port in enumerate(ports)]
    with ThreadPoolExecutor(len(managers)) as pool:
        started = [pool.submit(m.__enter__) for m in managers]
    procs = []
    for manager, future in zip(managers, started, strict=True):
        if future.exception() is None:
            stack.push(manager)
            procs.append(future.result())
    for future in started:
        if (exc := future.exception()) is not None:
            raise exc
    return procs


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run(args: Any, bin_dir: Path, result: dict[str, Any]) -> None:
    """One run as the module's docstring says, filling ``result`` as it goes (so an abort keeps what was done)."""
    from tests.support.pg_cluster import PgCluster  # noqa: PLC0415 - PostgreSQL runs only

    out: Path = args.out
    result["args"] = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    limits = limits_for(args.claims, args.agents)
    result["limits"] = limits | {"rogue_per_hour": args.rogue_limit, "rogue_per_day": args.rogue_limit}
    marks, last = result.setdefault("timings_s", {}), [time.monotonic()]

    def mark(step: str) -> None:
        marks[step], last[0] = round(time.monotonic() - last[0], 1), time.monotonic()

    with ExitStack() as stack:
        cluster = PgCluster(bin_dir, root=out / "pg")
        cluster.start()
        stack.callback(cluster.stop, remove=not args.keep_db)
        url, postmaster = cluster.new_database(), int((cluster.data / "postmaster.pid").read_text().split()[0])
        mark("cluster")
        began = time.monotonic()
        rogue_limit = {"ROGUE": args.rogue_limit}
        seeded = seed(
            out,
            url,
            policy=contained_policy(**limits),
            contacts=0,
            agents={"BPO": args.agents, "ROGUE": 1},
            outsourcer_per_hour=rogue_limit,
            outsourcer_per_day=rogue_limit,
        )
        if args.token_ttl_s:
            set_session_settings(seeded.data_dir, access_token_ttl_s=args.token_ttl_s)
        result["seed"] = {"seed_s": round(time.monotonic() - began, 1)}
        job = ImportJob(out, seeded.data_dir, args.contacts)
        stack.callback(job.stop)
        ports = [free_port() for _ in range(args.servers)]
        procs = _serve_all(stack, seeded.data_dir, out, args.workers, ports)  # while the import runs
        result["seed"] |= job.wait()
        probe = Probe(procs, postmaster)
        mark("seed_import_servers")
        urls = [f"https://127.0.0.1:{p}" for p in ports]
        try:
            state, login_s, load_s = asyncio.run(drive(urls, seeded.ca, seeded.agents, probe, args))
        finally:
            signal.signal(signal.SIGTERM, _interrupt)  # the loop's handlers went with it
            signal.signal(signal.SIGINT, _interrupt)
        cpu = probe.used()
        mark("enrol_login_load")
        result["load"] = {
            "stopped_by": state.reason,
            "claims": state.done,
            "seconds": round(load_s, 1),
            "claims_per_s": round(state.done / max(load_s, 1e-9), 1),
            "login_all_s": round(login_s, 1),
            "cpu_s": cpu,
            "cpu_ms_per_claim": {k: round(v * 1000 / max(state.done, 1), 2) for k, v in cpu.items()},
            "load_average_end": load_average(),
            "honest": state.honest.summary(),
            "refreshes": state.refreshes,
            "logins": state.logins,
            "rogue": {
                "leases_seen": len(state.rogue_leases),
                "refusals": dict(state.rogue_refusals),
                "messages": state.rogue_messages,
            },
            "rogue_errors": state.rogue.summary()["errors"],
        }
        for proc in procs:  # stopped before the checks: nothing writes while they read
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        mark("servers_stop")
        result["checks"] = check_all(url, seeded.data_dir, args, state.done)
        mark("checks")
        result["disk_mb"] = {"pg": _du_mb(out / "pg"), "logs": sum(_du_mb(p) for p in out.glob("server-*.log"))}


def _du_mb(path: Path) -> float:
    """Disk used under ``path``, MB (``du``: the cluster's files belong to the postgres user)."""
    if not path.exists():
        return 0.0
    done = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=False)  # noqa: S607
    return round(int(done.stdout.split()[0]) / 1000, 1) if done.returncode == 0 else 0.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000, help="honest claims to do (each /next + outcome)")
    parser.add_argument("--contacts", type=int, help="contacts to import (default: claims + margin)")
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="worker processes per server")
    parser.add_argument("--agents", type=int, default=200, help="honest agents, claiming back to back")
    parser.add_argument("--rogue-limit", type=int, default=25, help="the rogue's own per-hour and per-day limit")
    parser.add_argument("--rogue-lanes", type=int, default=16, help="the rogue's parallel /next lanes")
    parser.add_argument("--rogue-every", type=float, default=2.0, help="seconds between the rogue's volleys")
    parser.add_argument("--progress-s", type=float, default=30.0, help="seconds between progress lines")
    parser.add_argument("--token-ttl-s", type=int, default=0, help="access token life (0: the installation's)")
    parser.add_argument("--keep-db", action="store_true", help="keep OUT/pg (the cluster's files) at the end")
    parser.add_argument("--out", type=Path, required=True, help="a new or empty directory for everything")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse, run, write ``OUT/result.json`` and ``OUT/result.txt``; 0 when every check holds, 1 if not, 2 bad input."""
    parser = _parser()
    args = parser.parse_args(argv)
    if min(args.claims, args.servers, args.workers, args.agents, args.rogue_limit, args.rogue_lanes) < 1:
        parser.error("--claims, --servers, --workers, --agents, --rogue-* must be at least 1")
    if args.servers * args.workers * POOL_MAX > PG_CONNECTIONS - 10:
        parser.error(
            f"--servers x --workers up to {(PG_CONNECTIONS - 10) // POOL_MAX}: each process pools up to "
            f"{POOL_MAX} connections and the throwaway PostgreSQL takes {PG_CONNECTIONS}"
        )
    if args.token_ttl_s and not 5 <= args.token_ttl_s <= 86_400:
        parser.error("--token-ttl-s must be 5 to 86400")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        parser.error(f"--out {args.out} exists and is not an empty directory")
    if os.geteuid() == 0 and any(not d.stat().st_mode & 0o001 for d in args.out.resolve().parents if d.exists()):
        parser.error(f"--out {args.out}: the postgres user cannot reach it (a parent directory is not o+x)")
    try:
        limits_for(args.claims, args.agents)
    except ValueError as exc:
        parser.error(str(exc))
    args.contacts = args.contacts or args.claims + args.agents + 3 * args.rogue_limit + max(1000, args.claims // 100)
    if args.contacts < args.claims + args.agents + args.rogue_limit:
        parser.error("--contacts must be at least claims + agents + rogue limit (each contact is leased once)")
    from tests.support.pg_cluster import find_pg_bin  # noqa: PLC0415 - PostgreSQL runs only

    bin_dir = find_pg_bin()
    if bin_dir is None:
        print("PostgreSQL binaries (initdb, pg_ctl) are not installed", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    args.out = args.out.resolve()
    previous, result = signal.signal(signal.SIGTERM, _interrupt), {}
    try:
        run(args, bin_dir, result)
    except KeyboardInterrupt as exc:
        result["aborted"] = f"interrupted before the checks ended ({exc})"
    except Exception as exc:  # noqa: BLE001 - written to result.json, and the traceback to stderr
        result["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    finally:
        signal.signal(signal.SIGTERM, previous)
    (args.out / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    text = describe(result)
    (args.out / "result.txt").write_text(text + "\n", encoding="utf-8")
    print(text, flush=True)
    return 0 if result.get("checks", {}).get("ok") else 1


if __name__ == "__main__":
    raise SystemExit(main())
