"""The agents of ``bench/double_claim_bench.py``: honest agents in a closed loop and one rogue spraying ``/next``.

Built on :mod:`bench.wire_load` (raw HTTP/1.1 over asyncio TLS, one keep-alive connection
per agent per server, each request to the next server in turn, ``503`` + ``Retry-After``
waited out as the agent client does). What this module adds for a run of hours:

* tokens renewed as the agent client does (``/refresh`` with the device's signature at 2/3 of
  the access token's life), a full login when a refresh is refused (the session's maximum
  length) and after any ``401``;
* every request under a timeout; a network error closes the connections, is counted by
  kind and the agent goes on after a pause;
* latencies in a log-scale histogram (constant memory at any number of claims);
* an exact claim budget: a claim is reserved before it starts and given back if it fails.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench import wire_load
from shared.auth import refresh_challenge
from shared.protocol import b64encode

__all__ = ["Histogram", "Run", "Tally", "honest_agent", "rogue_lane", "authenticate"]

#: Longest wait for one request (a 503's Retry-After waits included), seconds.
REQUEST_TIMEOUT_S = 120.0
#: Pause after a network error or an unexpected answer, seconds.
PAUSE_S = 1.0


class Histogram:
    """Latencies in buckets 1/20 of a natural-log unit wide (~5% resolution), from 0.1 ms; constant memory."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.n, self.max_s = 0, 0.0

    def add(self, seconds: float) -> None:
        """Count one latency (seconds)."""
        self.counts[max(0, int(math.log(max(seconds, 1e-4) * 1e4) * 20))] += 1
        self.n += 1
        self.max_s = max(self.max_s, seconds)

    def quantile_ms(self, q: float) -> float:
        """The upper edge of the bucket holding the ``q`` quantile (at most the largest seen), in ms; 0 when empty."""
        seen, want = 0, q * self.n
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= want:
                return round(min(math.exp((bucket + 1) / 20) / 10, self.max_s * 1000), 1)
        return 0.0

    def summary(self) -> dict[str, float]:
        """Count, p50/p95/p99 and max in ms."""
        out = {"n": float(self.n), **{f"p{round(q * 100)}_ms": self.quantile_ms(q) for q in (0.5, 0.95, 0.99)}}
        return out | {"max_ms": round(self.max_s * 1000, 1)}


class Tally(wire_load.Phase):
    """A :class:`bench.wire_load.Phase` whose latencies go to histograms and errors to a counter."""

    def __init__(self) -> None:
        super().__init__()
        self.hist: dict[str, Histogram] = {}

    def add(self, step: str, seconds: float, error: str | None = None) -> None:
        """Count one request of ``step`` and, if given, its error kind."""
        self.hist.setdefault(step, Histogram()).add(seconds)
        if error:
            self.errors[error] = self.errors.get(error, 0) + 1

    def error(self, kind: str) -> None:
        """Count an error of ``kind`` (no latency)."""
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def summary(self) -> dict[str, Any]:
        """Per step its histogram's summary; errors by kind; 503 answers waited out."""
        return {"errors": dict(self.errors), "retried_503": self.retried} | {
            step: hist.summary() for step, hist in self.hist.items()
        }


@dataclass
class Run:
    """Shared state of one run: the claim budget, the stop signal, what the honest agents and the rogue saw."""

    target: int
    password: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    reserved: int = 0
    done: int = 0
    honest: Tally = field(default_factory=Tally)
    rogue: Tally = field(default_factory=Tally)
    rogue_leases: set[str] = field(default_factory=set)
    rogue_refusals: Counter[str] = field(default_factory=Counter)
    rogue_messages: dict[str, str] = field(default_factory=dict)  # the first message of each kind of refusal
    logins: int = 0
    refreshes: int = 0
    reason: str = ""

    def halt(self, reason: str) -> None:
        """Stop the run (the first reason given is kept)."""
        self.reason = self.reason or reason
        self.stop.set()

    def reserve(self) -> bool:
        """Take one claim of the budget; False when it is spent or the run is stopping."""
        if self.stop.is_set() or self.reserved >= self.target:
            return False
        self.reserved += 1
        return True


async def _post(agent: wire_load.Agent, tally: Tally, path: str, body: dict[str, Any], auth: bool = True) -> Any:
    """One request under :data:`REQUEST_TIMEOUT_S`: (status, JSON body or {}), or (0, {}) after a network error."""
    try:
        status, data = await asyncio.wait_for(agent.post(tally, path, body, auth=auth), REQUEST_TIMEOUT_S)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
        tally.error(f"{path}: {type(exc).__name__}")
        await agent.close()
        await asyncio.sleep(PAUSE_S)
        return 0, {}
    try:
        return status, json.loads(data) if data else {}
    except ValueError:
        return status, {}


async def _refresh(agent: wire_load.Agent, run: Run, tally: Tally) -> bool:
    """Renew the tokens with ``/refresh`` (nonce, device signature over the refresh token's SHA-256)."""
    if not agent.refresh_token:
        return False
    status, nonce = await _post(agent, tally, "/nonce", {"device_id": agent.device_id}, auth=False)
    if status != 200:
        return False
    digest = hashlib.sha256(agent.refresh_token.encode()).hexdigest()
    challenge = refresh_challenge(
        session_id=agent.session_id, device_id=agent.device_id, nonce=nonce["nonce"], refresh_token_sha256=digest
    )
    body = {"refresh_token": agent.refresh_token, "device_id": agent.device_id, "nonce": nonce["nonce"]}
    status, answer = await _post(agent, tally, "/refresh", body | {"signature": b64encode(agent.key.sign(challenge))})
    if status != 200:
        tally.error(f"/refresh: {status} {answer.get('code', '')}".strip())
        return False
    agent.keep(answer)
    run.refreshes += 1
    return True


async def authenticate(agent: wire_load.Agent, run: Run, tally: Tally, *, expired: bool = False) -> None:
    """Keep ``agent`` logged in: refresh when due (or ``expired``), else log in again; retries until the run stops."""
    if agent.token and not expired and time.monotonic() < agent.refresh_at:
        return
    if agent.token and await _refresh(agent, run, tally):
        return
    while not run.stop.is_set():
        try:
            status = await asyncio.wait_for(wire_load.login(agent, run.password, tally), REQUEST_TIMEOUT_S * 3)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            status = 0
            tally.error(f"/login: {type(exc).__name__}")
            await agent.close()
        if status == 200:
            run.logins += 1
            return
        await asyncio.sleep(PAUSE_S * random.uniform(1, 3))  # noqa: S311 - jitter


async def _claim(agent: wire_load.Agent, run: Run) -> bool:
    """``/next`` then ``/dispositions``; True when the record was disposed of."""
    tally = run.honest
    await authenticate(agent, run, tally)
    began = time.perf_counter()
    status, answer = await _post(agent, tally, "/next", {})
    record = answer.get("record") if status == 200 else None
    if record is None:
        tally.error("/next: no record" if status == 200 else f"/next: {status} {answer.get('code', '')}".strip())
        await authenticate(agent, run, tally, expired=status == 401)
        await asyncio.sleep(0 if status == 401 else PAUSE_S)
        return False
    tally.add("next", time.perf_counter() - began)
    began = time.perf_counter()
    body = {"lease_id": record["lease_id"], "code": "no_answer"}
    status, answer = await _post(agent, tally, "/dispositions", body)
    if status == 401:  # the token ran out between the two requests: renew, the lease is still ours
        await authenticate(agent, run, tally, expired=True)
        status, answer = await _post(agent, tally, "/dispositions", body)
    if status != 200:
        tally.error(f"/dispositions: {status} {answer.get('code', '')}".strip())
        return False
    tally.add("dispositions", time.perf_counter() - began)
    return True


async def honest_agent(agent: wire_load.Agent, run: Run) -> None:
    """Claim back to back until the budget is spent or the run stops.

    An exception nobody expected (a malformed answer) is counted by kind and the agent goes on
    after a pause on fresh connections: one bad answer in hours does not end the run.
    """
    while run.reserve():
        try:
            ok = await _claim(agent, run)
        except Exception as exc:  # noqa: BLE001 - counted; the run goes on
            run.honest.error(f"unexpected: {type(exc).__name__}")
            await agent.close()
            await asyncio.sleep(PAUSE_S)
            ok = False
        if ok:
            run.done += 1
        else:
            run.reserved -= 1


async def _rogue_volley(lane: wire_load.Agent, rogue: wire_load.Agent, run: Run, lock: asyncio.Lock) -> bool:
    """One ``/next`` of a lane (and the disposition of a record given); True when a record was given."""
    async with lock:
        await authenticate(rogue, run, run.rogue)
    lane.token = rogue.token
    status, answer = await _post(lane, run.rogue, "/next", {})
    record = answer.get("record") if status == 200 else None
    if record is not None:
        run.rogue_leases.add(record["lease_id"])
        await _post(lane, run.rogue, "/dispositions", {"lease_id": record["lease_id"], "code": "no_answer"})
        return True
    kind = "no record" if status == 200 else f"{status} {answer.get('code', '')}".strip()
    run.rogue_refusals[kind] += 1
    run.rogue_messages.setdefault(kind, str(answer.get("message", ""))[:200])
    if status == 401:
        async with lock:
            if rogue.token == lane.token:
                await authenticate(rogue, run, run.rogue, expired=True)
    return False


async def rogue_lane(
    lane: wire_load.Agent, rogue: wire_load.Agent, run: Run, every_s: float, lock: asyncio.Lock
) -> None:
    """One of the rogue's parallel lanes on the rogue's session: ``/next`` (and a disposition) as fast as it is given.

    Refused, the lane waits for the next multiple of ``every_s`` on the clock, so every lane
    fires at the same moment (half of them at each server when there are two).
    """
    while not run.stop.is_set():
        try:
            if await _rogue_volley(lane, rogue, run, lock):
                continue
        except Exception as exc:  # noqa: BLE001 - counted; the run goes on
            run.rogue.error(f"unexpected: {type(exc).__name__}")
            await lane.close()
        now = time.time()
        await asyncio.sleep((math.floor(now / every_s) + 1) * every_s - now)
