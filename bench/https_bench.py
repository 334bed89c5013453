"""HTTPS and several processes: shift-start burst, closed loop beside a bare peer, open loop, double claims.

Run by hand from the repository root (results in bench/README.md, "HTTPS and several processes")::

    .venv/bin/python -m bench.https_bench --agents 300 --contacts 60000 --workers 2 --servers 2 --seconds 20

What runs, in one process run, on one throwaway PostgreSQL (``tests/support/pg_cluster.py``):
    1. An installation with ``--agents`` agents and ``--contacts`` encrypted contacts, every limit and rule
       on (``tests.support.multi_server.contained_policy``: thresholds an honest agent does not reach).
    2. ``--servers`` real ``custos-server serve --workers W`` processes over TLS on loopback; every agent
       sends each request to the next server in turn (a load balancer's view).
    3. **Burst**: every agent enrols, logs in (nonce, signed challenge, argon2id password) and asks for a
       record at a uniformly random moment within ``--burst-s``; then gives an outcome. Every request's
       latency, every error.
    4. **Closed loop**: ``--threads`` agents claim (``/next`` then ``/dispositions``) back to back for
       ``--seconds``; then the same against the peer (``bench/https_peer.py``: bare Starlette on the same
       uvicorn and TLS, the raw SQL, no containment), same threads, same database. Claims/s and the ratio.
    5. **Open loop**: claims arrive as a Poisson process at ``--agents`` / 60 per second (one claim per agent
       per minute) for ``--seconds``; latency counted from the scheduled arrival (no coordinated omission).
    6. **Double claims**: every lease in the database checked (``check_leases``), then ``audit verify``.

The load generator runs on the same machine as the servers and PostgreSQL (2 cores here): figures are
what the whole machine sustains, not the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from sqlalchemy import text, update
from sqlmodel import col

from bench import wire_load
from bench.https_peer import schema
from bench.proc_cpu import load_average, tree_cpu_s
from owner_server.core.db import make_engine
from owner_server.models import Role, User
from tests.support.multi_server import AGENT_PASSWORD, Seeded, check_leases, contained_policy, free_port, seed, serve
from tests.support.wire_agent import API, tls_context

__all__ = ["main", "run"]


class Pool:
    """One httpx client per thread per server URL (keep-alive), trusting only the installation's CA."""

    def __init__(self, urls: list[str], ca: Path) -> None:
        self.urls, self.tls, self.local = urls, tls_context(ca), threading.local()
        self.every: list[httpx.Client] = []
        self.lock = threading.Lock()

    def close(self) -> None:
        """Close every thread's clients."""
        for client in self.every:
            client.close()

    def post(self, via: int, path: str, body: dict[str, Any], token: str) -> httpx.Response:
        clients = getattr(self.local, "clients", None)
        if clients is None:
            clients = self.local.clients = [httpx.Client(base_url=u, verify=self.tls, timeout=120) for u in self.urls]
            with self.lock:
                self.every.extend(clients)
        client, headers = clients[via % len(clients)], {"Authorization": f"Bearer {token}"}
        try:
            return client.post(API + path, json=body, headers=headers)
        except httpx.RemoteProtocolError:  # the server closed an idle keep-alive connection as we sent: once more
            return client.post(API + path, json=body, headers=headers)


def _claim(pool: Pool, token: str, via: int) -> bool:
    got = pool.post(via, "/next", {}, token)
    record = got.json().get("record") if got.status_code == 200 else None
    if record is None:
        return False
    done = pool.post(via + 1, "/dispositions", {"lease_id": record["lease_id"], "code": "no_answer"}, token)
    return done.status_code == 200


def closed_loop(urls: list[str], ca: Path, tokens: list[str], seconds: float) -> float:
    """Claims/s of ``len(tokens)`` agents claiming back to back for ``seconds``."""
    pool, count, lock = Pool(urls, ca), [0], threading.Lock()
    deadline = time.perf_counter() + seconds

    def loop(n: int) -> None:
        via = n
        while time.perf_counter() < deadline:
            ok = _claim(pool, tokens[n], via)
            via += 2
            with lock:
                count[0] += int(ok)

    began = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=len(tokens)) as ex:
            list(ex.map(loop, range(len(tokens))))
    finally:
        pool.close()
    return count[0] / (time.perf_counter() - began)


@dataclass
class Result:
    """Every phase's figures; CPU in seconds per claim (servers, database server), load average as ``uptime``."""

    database: str
    agents: int
    servers: int
    workers: int
    burst: dict[str, Any]
    ours_claims_per_s: float
    peer_claims_per_s: float
    open_loop: dict[str, Any]
    leases: dict[str, int]
    audit_ok: bool
    cpu: dict[str, Any] = field(default_factory=dict)
    argon2: str = "default"


def _peer(url: str, data_dir: Path, tokens_users: list[tuple[str, int]]) -> tuple[subprocess.Popen[bytes], int]:
    engine = make_engine(url)
    with engine.begin() as conn:
        for stmt in schema(engine.dialect.name):
            conn.execute(text(stmt))
        conn.execute(text("INSERT INTO peer_token VALUES (:t, :u)"), [{"t": t, "u": u} for t, u in tokens_users])
    engine.dispose()
    port, tls = free_port(), data_dir / "tls"
    args = [sys.executable, "-m", "bench.https_peer", url, str(port), str(tls / "server.pem")]
    proc = subprocess.Popen([*args, str(tls / "server-key.pem")])  # noqa: S603 - our own module
    for _ in range(150):
        try:
            httpx.post(f"https://127.0.0.1:{port}/api/v1/agent/next", verify=tls_context(tls / "ca.pem"), timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    return proc, port


#: Argon2id parameters the agents' password may be stored with instead of the server's: (memory KiB, passes, lanes).
ARGON2 = {"owasp": (19_456, 2, 1)}  # OWASP Password Storage Cheat Sheet's minimum for Argon2id


def _rehash(url: str, params: tuple[int, int, int]) -> None:
    """Store every agent's password with ``params`` (a login checks the hash with the parameters stored in it)."""
    memory, passes, lanes = params
    encoded = PasswordHasher(time_cost=passes, memory_cost=memory, parallelism=lanes).hash(AGENT_PASSWORD)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(User).where(col(User.role) == Role.AGENT).values(password_hash=encoded))
    engine.dispose()


class Meter:
    """CPU seconds of the servers and of the database server between two readings, per claim."""

    def __init__(self, servers: list[int], database: list[int]) -> None:
        self.servers, self.database = servers, database
        self.last = self.read()

    def read(self) -> tuple[float, float]:
        return tree_cpu_s(*self.servers), tree_cpu_s(*self.database)

    def per(self, claims: int) -> dict[str, float]:
        """Server and database CPU ms per claim since the last call; the load average now."""
        now = self.read()
        used, self.last = (now[0] - self.last[0], now[1] - self.last[1]), now
        per = lambda v: round(v * 1000 / max(claims, 1), 2)  # noqa: E731
        return {"server_cpu_ms": per(used[0]), "db_cpu_ms": per(used[1]), "load": load_average()}  # type: ignore[dict-item]


def _profiler(pids: list[int], out: Path | None) -> list[subprocess.Popen[bytes]]:
    """``py-spy record`` (raw collapsed stacks, on-CPU samples) of each server process tree, until interrupted."""
    if out is None:
        return []
    spy = Path(sys.executable).with_name("py-spy")
    args = [str(spy), "record", "--format", "raw", "--subprocesses", "--nonblocking", "--rate", "50"]
    return [
        subprocess.Popen([*args, "-p", str(pid), "-o", f"{out}.{n}.txt"], stdout=subprocess.DEVNULL)  # noqa: S603
        for n, pid in enumerate(pids)
    ]


async def _wire_phases(
    urls: list[str], ca: Path, seeded: Seeded, times: tuple[float, float], meter: Meter, profile: Path | None
) -> Any:
    tls, (burst_s, seconds) = tls_context(ca), times
    agents = await wire_load.enrol_all(urls, tls, seeded.agents["BPO"])
    meter.per(1)
    spies = _profiler(meter.servers, profile)
    burst = await wire_load.burst(agents, AGENT_PASSWORD, burst_s)
    for spy in spies:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    burst["cpu"] = meter.per(burst["logged_in"])
    opened = await wire_load.open_loop([a for a in agents if a.token], seconds)
    opened["cpu"] = meter.per(opened["claims"])
    for agent in agents:
        await agent.close()
    return burst, opened, [a.token for a in agents if a.token]


def run(
    url: str,
    *,
    agents: int,
    contacts: int,
    servers: int,
    workers: int,
    threads: int,
    seconds: float,
    burst_s: float,
    database_pids: list[int] | None = None,
    profile: Path | None = None,
    argon2: str = "default",
) -> Result:
    """One full run on the empty PostgreSQL database at ``url``, or on SQLite in the data dir when ``url`` is ""."""
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        policy = contained_policy(velocity=100_000, per_hour=100_000, per_day=100_000)
        seeded = seed(root, url, policy=policy, contacts=contacts, agents={"BPO": agents})
        url = url or f"sqlite:///{seeded.data_dir / 'custos.db'}"
        if argon2 != "default":
            _rehash(url, ARGON2[argon2])
        ports = [free_port() for _ in range(servers)]
        procs = [
            stack.enter_context(serve(seeded.data_dir, port, root / f"server-{n}.log", workers=workers))
            for n, port in enumerate(ports)
        ]
        urls = [f"https://127.0.0.1:{p}" for p in ports]
        meter = Meter([p.pid for p in procs], database_pids or [])
        burst, opened, tokens = asyncio.run(_wire_phases(urls, seeded.ca, seeded, (burst_s, seconds), meter, profile))
        loop_tokens = tokens[:threads]
        meter.per(1)
        ours = closed_loop(urls, seeded.ca, loop_tokens, seconds)
        cpu = {"closed_ours": meter.per(int(ours * seconds))}
        peer_tokens = [uuid.uuid4().hex for _ in loop_tokens]
        proc, peer_port = _peer(url, seeded.data_dir, [(t, n + 1) for n, t in enumerate(peer_tokens)])
        try:
            peer_meter = Meter([proc.pid], database_pids or [])
            peer = closed_loop([f"https://127.0.0.1:{peer_port}"], seeded.ca, peer_tokens, seconds)
            cpu["closed_peer"] = peer_meter.per(int(peer * seconds))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        engine = make_engine(url)
        leases = asdict(check_leases(engine))
        engine.dispose()
        verify = subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "owner_server", "audit", "verify", "--data-dir", str(seeded.data_dir), "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        ok = verify.returncode == 0 and json.loads(verify.stdout)["ok"]
        database = "sqlite" if url.startswith("sqlite") else "postgresql"
        figures = (round(ours, 1), round(peer, 1), opened, leases, ok, cpu)
        return Result(database, agents, servers, workers, burst, *figures, argon2=argon2)


def _steps(phase: dict[str, Any], *steps: str) -> str:
    return "; ".join(
        f"{s} p50/p95/p99 {phase[s]['p50_ms']}/{phase[s]['p95_ms']}/{phase[s]['p99_ms']} ms"
        for s in steps
        if s in phase
    )


def describe(r: Result) -> str:
    """A few readable lines."""
    b, o, lease = r.burst, r.open_loop, r.leases
    return "\n".join(
        [
            f"{r.database}: {r.servers} server(s) x {r.workers} worker(s), {r.agents} agents, argon2 {r.argon2}",
            f"burst: {b['logged_in']}/{b['agents']} logged in and got a record in {b['took_s']} s; "
            f"{_steps(b, 'nonce', 'login', 'next', 'agent')}; errors {b['errors']}, 503 retried {b['retried_503']}; "
            f"generator CPU {b['generator_cpu_share']}; {b['cpu']}",
            f"closed loop: ours {r.ours_claims_per_s} claims/s, peer {r.peer_claims_per_s} claims/s, "
            f"ratio {r.ours_claims_per_s / max(r.peer_claims_per_s, 1e-9):.2f}x; {r.cpu}",
            f"open loop: target {o['target_per_s']}/s achieved {o['achieved_per_s']}/s ({o['claims_per_s']} claims/s), "
            f"{_steps(o, 'next')}, errors {o['errors']}; generator CPU {o['generator_cpu_share']}; {o['cpu']}",
            f"double claims: {lease['contacts_open_twice']} open twice, {lease['overlapping']} overlapping, in "
            f"{lease['leases']:,} leases (record_issued entries {lease['issued_entries']:,}); "
            f"audit verify ok: {r.audit_ok}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--contacts", type=int, default=60_000)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=16, help="closed-loop agents")
    parser.add_argument("--seconds", type=float, default=20.0, help="closed and open loop duration each")
    parser.add_argument("--burst-s", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--argon2", choices=["default", *ARGON2], default="default", help="agents' password hash")
    parser.add_argument("--profile", type=Path, help="py-spy record the servers during the burst to PROFILE.N.txt")
    args = parser.parse_args(argv)
    if args.threads > args.agents:
        parser.error("--threads must not exceed --agents")
    if args.database == "sqlite" and args.servers * args.workers > 1:
        parser.error("SQLite has one writer: --servers 1 --workers 1")
    sizes = {k: getattr(args, k) for k in ("agents", "contacts", "servers", "workers", "threads", "seconds", "argon2")}
    if args.database == "sqlite":
        result = run("", **sizes, burst_s=args.burst_s, profile=args.profile)
    else:
        from tests.support.pg_cluster import PgCluster, find_pg_bin  # noqa: PLC0415 - PostgreSQL runs only

        bin_dir = find_pg_bin()
        if bin_dir is None:
            print("PostgreSQL binaries are not installed", file=sys.stderr)
            return 2
        cluster = PgCluster(bin_dir)
        cluster.start()
        try:
            postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
            result = run(
                cluster.new_database(), **sizes, burst_s=args.burst_s, database_pids=[postmaster], profile=args.profile
            )
        finally:
            cluster.stop()
    print(json.dumps(asdict(result)) if args.json else describe(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
