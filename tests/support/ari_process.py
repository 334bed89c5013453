"""Run the ARI test double (:mod:`tests.support.ari_double`) as its own process and read its request log."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def ari_double(tmp_path: Path, scenario: str) -> Iterator[tuple[int, Path]]:
    """The ARI double as its own process; yields its port and its JSONL request log."""
    port, log = free_port(), tmp_path / f"ari-{scenario}.jsonl"
    cmd = [sys.executable, "-m", "tests.support.ari_double", "--port", str(port), "--scenario", scenario]
    proc = subprocess.Popen([*cmd, "--log", str(log)], cwd=REPO)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the ARI double exited"
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port, log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def read_log(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def read_events(log: Path) -> list[dict]:
    """The events the double raised (``<log>.events.jsonl``): type, channel, app, delivered."""
    return read_log(log.with_name(log.name.removesuffix(".jsonl") + ".events.jsonl"))
