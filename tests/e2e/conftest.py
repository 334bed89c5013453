"""A real owner server process over TLS on a free loopback port, set up through the real CLI."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from owner_server.demo.sample import expected_phones, generate_contacts, write_sample

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "owner_server" / "demo" / "policy.toml"
AGENT_PASSWORD = "e2e-agent-password-1"
CONTACTS = 1000


def cli(data_dir: Path, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``custos-server`` as a real process."""
    env = {**os.environ, "CUSTOS_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "owner_server", *args], input=stdin, capture_output=True, text=True, env=env, timeout=300
    )
    if check and done.returncode != 0:
        raise AssertionError(f"custos-server {args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    data_dir: Path
    port: int
    deployment: Path
    enrolment_code: str
    login: str
    password: str
    phones: list[str]
    sample_rows: list[dict[str, str]]
    server_log: Path


def _wait_tls(port: int, ca: Path, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    ctx = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("server exited during start-up")
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
                ctx.wrap_socket(raw, server_hostname="127.0.0.1"),
            ):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not come up")


def prepare_installation(root: Path, port: int, *, policy: Path = POLICY, agents: tuple[str, ...] = ("anna.k",)):
    """Init a data dir through the real CLI: outsourcer, campaign, agents and the generated list imported.

    Returns:
        The data dir and each agent's ``agent add --json`` answer (with its enrolment code).
    """
    data_dir = root / "data"
    cli(data_dir, "init", "--organisation", "E2E Telecom", "--public-url", f"https://127.0.0.1:{port}")
    sample = root / "sample.csv"
    write_sample(sample, CONTACTS)
    cli(data_dir, "outsourcer", "add", "BPO One")
    cli(data_dir, "campaign", "create", "Jesień", "--policy", str(policy))
    added = {}
    for login in agents:
        args = ("agent", "add", login, "--outsourcer", "BPO One", "--campaign", "Jesień", "--password-stdin", "--json")
        added[login] = json.loads(cli(data_dir, *args, stdin=AGENT_PASSWORD + "\n").stdout)
    report = json.loads(cli(data_dir, "import", str(sample), "--campaign", "Jesień", "--json").stdout)
    assert report["imported"] == CONTACTS, report
    return data_dir, added


@contextlib.contextmanager
def running_server(
    data_dir: Path, port: int, log_path: Path, env: dict[str, str] | None = None, console_port: int = 0
) -> Iterator[subprocess.Popen[bytes]]:
    """``custos-server serve`` as a real process until the block ends (its output in ``log_path``).

    ``console_port`` 0 leaves the owner console off (several servers run at once in the suite).
    """
    serve = ["serve", "--data-dir", str(data_dir), "--port", str(port), "--console-port", str(console_port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "owner_server", *serve],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        try:
            _wait_tls(port, data_dir / "tls" / "ca.pem", proc)
            if console_port:
                _wait_tls(console_port, data_dir / "tls" / "ca.pem", proc)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("e2e")
    port = free_port()
    data_dir, added = prepare_installation(root, port)
    with running_server(data_dir, port, root / "server.log"):
        yield LiveServer(
            data_dir=data_dir,
            port=port,
            deployment=data_dir / "deployment" / "custos-agent.toml",
            enrolment_code=added["anna.k"]["enrolment_code"],
            login="anna.k",
            password=AGENT_PASSWORD,
            phones=expected_phones(CONTACTS),
            sample_rows=list(generate_contacts(CONTACTS)),
            server_log=root / "server.log",
        )
