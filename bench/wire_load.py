"""A cheap load generator for ``bench/https_bench.py``: one asyncio loop, raw HTTP/1.1 over ``asyncio`` TLS streams.

The servers, PostgreSQL and the generator share this machine's cores, so the
generator is kept small: no client library, one connection per agent (keep-alive,
reopened when idle longer than the server keeps it), the JSON bodies written by
hand. It measures the shift-start burst (every agent logs in and asks for a record
at a uniformly random moment in a window) and the open loop (Poisson arrivals,
latency from the scheduled arrival, so no coordinated omission).

A ``503`` with ``Retry-After`` (the login gate is full) is retried after that many
seconds plus jitter, as the agent client does; the retry counts in the request's
latency and in ``retried``, not as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.wire_agent import API, login_body, public_key_b64

__all__ = ["Agent", "Conn", "Phase", "burst", "enrol_all", "login", "open_loop"]

#: Reopen a connection idle longer than this (uvicorn closes keep-alive connections idle for 5 s).
_IDLE_S = 4.0


@dataclass
class Phase:
    """Latencies (s) per step, errors and 503 retries of one phase."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    retried: int = 0

    def add(self, step: str, seconds: float, error: str | None = None) -> None:
        self.latencies.setdefault(step, []).append(seconds)
        if error:
            self.errors[error] = self.errors.get(error, 0) + 1

    def summary(self) -> dict[str, Any]:
        """Per step: count, p50/p95/p99 and max in ms; errors; retries."""
        out: dict[str, Any] = {"errors": dict(self.errors), "retried_503": self.retried}
        for step, values in self.latencies.items():
            lat = sorted(values)
            pick = lambda q, lat=lat: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1)  # noqa: E731
            out[step] = {"n": len(lat), "p50_ms": pick(0.5), "p95_ms": pick(0.95), "p99_ms": pick(0.99)}
            out[step]["max_ms"] = round(lat[-1] * 1000, 1)
        return out


class Conn:
    """One keep-alive HTTPS connection to one server."""

    def __init__(self, url: str, tls: ssl.SSLContext) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.tls = parts.hostname or "127.0.0.1", parts.port or 443, tls
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def close(self) -> None:
        """Close the connection and wait (up to 2 s) until its transport is closed, so none is left to the GC."""
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
                await asyncio.wait_for(writer.wait_closed(), 2.0)

    async def post(self, path: str, body: dict[str, Any], token: str = "") -> tuple[int, dict[str, str], bytes]:
        """POST JSON; returns status, lower-cased headers and body. Reconnects once if the server closed first."""
        for attempt in (0, 1):
            if self.writer is None or time.monotonic() - self.used > _IDLE_S:
                await self.close()
                self.reader, self.writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self.tls, server_hostname=self.host
                )
            try:
                return await self._exchange(path, body, token)
            except (asyncio.IncompleteReadError, ConnectionError):
                await self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, path: str, body: dict[str, Any], token: str) -> tuple[int, dict[str, str], bytes]:
        assert self.reader is not None and self.writer is not None
        payload = json.dumps(body).encode()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        head = (
            f"POST {API}{path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"{auth}Content-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
        data = await self.reader.readexactly(int(headers.get("content-length", "0")))
        self.used = time.monotonic()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, data


class Agent:
    """One agent: its device key, one connection per server, sending each request to the next server in turn."""

    def __init__(self, urls: list[str], tls: ssl.SSLContext, login: str) -> None:
        self.conns = [Conn(u, tls) for u in urls]
        self.login, self.key, self.device_id, self.token, self.turn = login, Ed25519PrivateKey.generate(), "", "", 0
        self.refresh_token, self.session_id, self.refresh_at = "", "", 0.0

    def keep(self, answer: dict[str, Any]) -> None:
        """Keep a ``/login`` or ``/refresh`` answer's tokens; refresh due at 2/3 of the access token's life."""
        self.token, self.refresh_token = answer["access_token"], answer.get("refresh_token") or ""
        self.session_id = answer.get("session_id") or self.session_id
        self.refresh_at = time.monotonic() + float(answer["expires_in_s"]) * 2 / 3

    async def post(self, phase: Phase, path: str, body: dict[str, Any], auth: bool = True) -> tuple[int, bytes]:
        conn = self.conns[self.turn % len(self.conns)]
        self.turn += 1
        while True:
            status, headers, data = await conn.post(path, body, self.token if auth else "")
            if status != 503 or "retry-after" not in headers:
                return status, data
            phase.retried += 1
            await asyncio.sleep(float(headers["retry-after"]) * random.uniform(1.0, 1.5))  # noqa: S311 - jitter

    async def close(self) -> None:
        for conn in self.conns:
            await conn.close()


async def _enrol(agent: Agent, code: str, phase: Phase, gate: asyncio.Semaphore) -> None:
    async with gate:
        body = {"enrolment_code": code, "device_public_key": public_key_b64(agent.key), "device_name": "wire"}
        status, data = await agent.post(phase, "/enrol", body, auth=False)
        if status != 200:
            phase.add("enrol", 0.0, f"enrol {status}")
            return
        agent.device_id = json.loads(data)["device_id"]
        await agent.close()


async def enrol_all(urls: list[str], tls: ssl.SSLContext, agents: list[tuple[str, str]]) -> list[Agent]:
    """Enrol every agent's device (before the shift: enrolment is once per computer, not per shift)."""
    made, phase, gate = [Agent(urls, tls, login) for login, _ in agents], Phase(), asyncio.Semaphore(32)
    await asyncio.gather(*(_enrol(a, code, phase, gate) for a, (_, code) in zip(made, agents, strict=True)))
    if phase.errors:
        raise AssertionError(f"enrolment failed: {phase.errors}")
    return made


async def login(agent: Agent, password: str, phase: Phase) -> int:
    """Nonce then login, as the agent client does: after a 503 + Retry-After, wait and start again (a fresh nonce).

    Returns:
        The login's HTTP status (or the nonce's when that failed); on 200 the agent keeps its tokens.
    """
    while True:
        began = time.perf_counter()
        status, data = await agent.post(phase, "/nonce", {"device_id": agent.device_id}, auth=False)
        phase.add("nonce", time.perf_counter() - began, None if status == 200 else f"nonce: {status}")
        if status != 200:
            return status
        who = {"login": agent.login, "password": password, "device_id": agent.device_id}
        body = login_body(agent.key, **who, nonce=json.loads(data)["nonce"])
        began = time.perf_counter()
        status, headers, data = await agent.conns[agent.turn % len(agent.conns)].post("/login", body)
        agent.turn += 1
        phase.add("login", time.perf_counter() - began, None if status in (200, 503) else f"login: {status}")
        if status == 503 and "retry-after" in headers:
            phase.retried += 1
            await asyncio.sleep(float(headers["retry-after"]) * random.uniform(1.0, 1.5))  # noqa: S311 - jitter
            continue
        if status == 200:
            agent.keep(json.loads(data))
        else:
            agent.token = ""
        return status


async def _shift_start(agent: Agent, password: str, at: float, start: float, phase: Phase) -> None:
    await asyncio.sleep(max(0.0, at - (time.perf_counter() - start)))
    arrived = time.perf_counter()
    try:
        if await login(agent, password, phase) != 200:
            return
        began = time.perf_counter()
        status, _ = await agent.post(phase, "/next", {})
        phase.add("next", time.perf_counter() - began, None if status == 200 else f"next: {status}")
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        phase.add("failed", time.perf_counter() - arrived, f"{type(exc).__name__}")
        return
    if status == 200:
        phase.add("agent", time.perf_counter() - arrived)


async def burst(agents: list[Agent], password: str, window_s: float) -> dict[str, Any]:
    """Every agent asks for a nonce, logs in and asks for a record, starting at a random moment within ``window_s``."""
    phase, start, cpu = Phase(), time.perf_counter(), time.process_time()
    rng = random.Random(11)  # noqa: S311 - load timing
    await asyncio.gather(*(_shift_start(a, password, rng.uniform(0, window_s), start, phase) for a in agents))
    took = time.perf_counter() - start
    logged_in = sum(1 for a in agents if a.token)
    return phase.summary() | {
        "agents": len(agents),
        "logged_in": logged_in,
        "took_s": round(took, 1),
        "generator_cpu_share": round((time.process_time() - cpu) / took, 2),
    }


async def _claim(agent: Agent, scheduled: float, phase: Phase, done: list[int]) -> None:
    try:
        status, data = await agent.post(phase, "/next", {})
        phase.add("next", time.perf_counter() - scheduled, None if status == 200 else f"next: {status}")
        record = json.loads(data).get("record") if status == 200 else None
        if record is not None:
            status, _ = await agent.post(phase, "/dispositions", {"lease_id": record["lease_id"], "code": "no_answer"})
            if status == 200:
                done[0] += 1
            else:
                phase.add("dispositions", 0.0, f"dispositions: {status}")
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        phase.add("next", time.perf_counter() - scheduled, f"next: {type(exc).__name__}")


async def open_loop(agents: list[Agent], seconds: float) -> dict[str, Any]:
    """Poisson arrivals at ``len(agents)`` / 60 per second for ``seconds``; ``/next`` latency from the arrival."""
    phase, rate, rng, done = Phase(), len(agents) / 60.0, random.Random(7), [0]  # noqa: S311 - load timing
    busy: set[int] = set()
    tasks: list[asyncio.Task[None]] = []
    start, cpu, at, submitted, skipped = time.perf_counter(), time.process_time(), 0.0, 0, 0

    def free(n: int) -> None:
        busy.discard(n)

    while at < seconds:
        at += rng.expovariate(rate)
        await asyncio.sleep(max(0.0, at - (time.perf_counter() - start)))
        n = rng.randrange(len(agents))
        if n in busy:
            skipped += 1  # this agent is still on its previous claim
            continue
        busy.add(n)
        submitted += 1
        task = asyncio.ensure_future(_claim(agents[n], start + at, phase, done))
        task.add_done_callback(lambda _t, n=n: free(n))
        tasks.append(task)
    await asyncio.gather(*tasks)
    took = time.perf_counter() - start
    return phase.summary() | {
        "target_per_s": round(rate, 2),
        "achieved_per_s": round(submitted / took, 2),
        "claims_per_s": round(done[0] / took, 2),
        "claims": done[0],
        "skipped": skipped,
        "seconds": round(took, 1),
        "generator_cpu_share": round((time.process_time() - cpu) / took, 2),
    }
