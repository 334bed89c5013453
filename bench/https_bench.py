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
import json
import random
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
from sqlalchemy import text

from bench.https_peer import SCHEMA
from owner_server.core.db import make_engine
from tests.support.multi_server import AGENT_PASSWORD, check_leases, contained_policy, free_port, seed, serve
from tests.support.wire_agent import API, WireAgent, tls_context

__all__ = ["main", "run"]


@dataclass
class Timings:
    """Latencies (s) and errors of one phase."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, error: str | None = None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else None  # noqa: E731
        return {"requests": len(lat), "errors": dict(self.errors), "p50_ms": pick(0.5), "p99_ms": pick(0.99)}


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


def _claim(pool: Pool, token: str, via: int, next_times: Timings | None = None, started: float = 0.0) -> bool:
    got = pool.post(via, "/next", {}, token)
    if next_times is not None:
        next_times.add(time.perf_counter() - started, None if got.status_code == 200 else str(got.status_code))
    record = got.json().get("record") if got.status_code == 200 else None
    if record is None:
        return False
    done = pool.post(via + 1, "/dispositions", {"lease_id": record["lease_id"], "code": "no_answer"}, token)
    return done.status_code == 200


def burst(urls: list[str], ca: Path, agents: list[tuple[str, str]], window_s: float) -> tuple[dict, list[str]]:
    """Every agent enrols, logs in and asks for a record at a random moment within ``window_s``."""
    times, tokens, lock = Timings(), [], threading.Lock()
    start = time.perf_counter()

    def one(login: str, code: str, at: float) -> None:
        time.sleep(max(0.0, at - (time.perf_counter() - start)))
        agent = WireAgent(urls, ca)
        try:
            for step in ("enrol", "login", "next"):
                began = time.perf_counter()
                try:
                    if step == "enrol":
                        agent.enrol(code)
                    elif step == "login":
                        agent.login(login, AGENT_PASSWORD)
                    else:
                        answer, _ = agent.claim()
                        assert answer.status_code == 200, answer.status_code
                    times.add(time.perf_counter() - began)
                except (AssertionError, httpx.HTTPError, ValueError) as exc:
                    times.add(time.perf_counter() - began, f"{step}: {type(exc).__name__} {exc}"[:80])
                    return
            with lock:
                tokens.append(agent.token)
        finally:
            agent.close()

    with ThreadPoolExecutor(max_workers=min(256, len(agents))) as pool:
        for login, code in agents:
            pool.submit(one, login, code, random.uniform(0, window_s))  # noqa: S311 - load timing, not secrets
    took = time.perf_counter() - start
    return times.summary() | {"agents": len(agents), "logged_in": len(tokens), "took_s": round(took, 1)}, tokens


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


def open_loop(urls: list[str], ca: Path, tokens: list[str], seconds: float) -> dict[str, Any]:
    """Poisson arrivals, one claim per agent per minute on average; ``/next`` latency from the scheduled arrival."""
    pool, times, rate = Pool(urls, ca), Timings(), len(tokens) / 60.0
    rng = random.Random(7)  # noqa: S311 - load timing
    busy: set[int] = set()
    start, at, submitted, skipped = time.perf_counter(), 0.0, 0, 0

    def one(agent: int, scheduled: float) -> None:
        try:
            _claim(pool, tokens[agent], agent + submitted, times, started=scheduled)
        except httpx.HTTPError as exc:
            times.add(time.perf_counter() - scheduled, type(exc).__name__)
        finally:
            busy.discard(agent)

    with ThreadPoolExecutor(max_workers=128) as ex:
        while at < seconds:
            at += rng.expovariate(rate)
            time.sleep(max(0.0, at - (time.perf_counter() - start)))
            agent = rng.randrange(len(tokens))
            if agent in busy:
                skipped += 1  # this agent is still on its previous claim
                continue
            busy.add(agent)
            submitted += 1
            ex.submit(one, agent, start + at)
    took = time.perf_counter() - start
    return times.summary() | {
        "target_per_s": round(rate, 2),
        "achieved_per_s": round(submitted / took, 2),
        "skipped": skipped,
    }


@dataclass
class Result:
    """Every phase's figures."""

    agents: int
    servers: int
    workers: int
    burst: dict[str, Any]
    ours_claims_per_s: float
    peer_claims_per_s: float
    open_loop: dict[str, Any]
    leases: dict[str, int]
    audit_ok: bool


def _peer(url: str, data_dir: Path, tokens_users: list[tuple[str, int]]) -> tuple[subprocess.Popen[bytes], int]:
    engine = make_engine(url)
    with engine.begin() as conn:
        for stmt in SCHEMA:
            conn.execute(text(stmt))
        conn.execute(text("INSERT INTO peer_token VALUES (:t, :u)"), [{"t": t, "u": u} for t, u in tokens_users])
    engine.dispose()
    port, tls = free_port(), data_dir / "tls"
    args = [
        sys.executable,
        "-m",
        "bench.https_peer",
        url,
        str(port),
        str(tls / "server.pem"),
        str(tls / "server-key.pem"),
    ]
    proc = subprocess.Popen(args)  # noqa: S603 - our own module
    for _ in range(150):
        try:
            httpx.post(f"https://127.0.0.1:{port}/api/v1/agent/next", verify=tls_context(tls / "ca.pem"), timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    return proc, port


def run(
    url: str, *, agents: int, contacts: int, servers: int, workers: int, threads: int, seconds: float, burst_s: float
) -> Result:
    """One full run on the empty PostgreSQL database at ``url``."""
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        policy = contained_policy(velocity=100_000, per_hour=100_000, per_day=100_000)
        seeded = seed(root, url, policy=policy, contacts=contacts, agents={"BPO": agents})
        ports = [free_port() for _ in range(servers)]
        for n, port in enumerate(ports):
            stack.enter_context(serve(seeded.data_dir, port, root / f"server-{n}.log", workers=workers))
        urls = [f"https://127.0.0.1:{p}" for p in ports]
        burst_figures, tokens = burst(urls, seeded.ca, seeded.agents["BPO"], burst_s)
        loop_tokens = tokens[:threads]
        ours = closed_loop(urls, seeded.ca, loop_tokens, seconds)
        opened = open_loop(urls, seeded.ca, tokens, seconds)
        peer_tokens = [uuid.uuid4().hex for _ in loop_tokens]
        proc, peer_port = _peer(url, seeded.data_dir, [(t, n + 1) for n, t in enumerate(peer_tokens)])
        try:
            peer = closed_loop([f"https://127.0.0.1:{peer_port}"], seeded.ca, peer_tokens, seconds)
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
        return Result(agents, servers, workers, burst_figures, round(ours, 1), round(peer, 1), opened, leases, ok)


def describe(r: Result) -> str:
    """A few readable lines."""
    b, o, lease = r.burst, r.open_loop, r.leases
    return "\n".join(
        [
            f"{r.servers} server(s) x {r.workers} worker(s), {r.agents} agents",
            f"burst: {b['logged_in']}/{b['agents']} logged in and got a record in {b['took_s']} s; "
            f"{b['requests']} requests, p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms, errors {b['errors']}",
            f"closed loop: ours {r.ours_claims_per_s} claims/s, peer {r.peer_claims_per_s} claims/s, "
            f"ratio {r.ours_claims_per_s / max(r.peer_claims_per_s, 1e-9):.2f}x",
            f"open loop: target {o['target_per_s']}/s achieved {o['achieved_per_s']}/s, /next p50 {o['p50_ms']} ms "
            f"p99 {o['p99_ms']} ms, errors {o['errors']}",
            f"double claims: {lease['contacts_open_twice']} open twice, {lease['overlapping']} overlapping, in "
            f"{lease['leases']:,} leases (record_issued entries {lease['issued_entries']:,}); "
            f"audit verify ok: {r.audit_ok}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--contacts", type=int, default=60_000)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=16, help="closed-loop agents")
    parser.add_argument("--seconds", type=float, default=20.0, help="closed and open loop duration each")
    parser.add_argument("--burst-s", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.threads > args.agents:
        parser.error("--threads must not exceed --agents")
    from tests.support.pg_cluster import PgCluster, find_pg_bin

    bin_dir = find_pg_bin()
    if bin_dir is None:
        print("PostgreSQL binaries are not installed", file=sys.stderr)
        return 2
    cluster = PgCluster(bin_dir)
    cluster.start()
    try:
        result = run(
            cluster.new_database(),
            agents=args.agents,
            contacts=args.contacts,
            servers=args.servers,
            workers=args.workers,
            threads=args.threads,
            seconds=args.seconds,
            burst_s=args.burst_s,
        )
    finally:
        cluster.stop()
    print(json.dumps(asdict(result)) if args.json else describe(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
