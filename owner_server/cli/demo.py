"""``demo``: a complete local installation with sample data and a running client."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import IO, Annotated, NamedTuple

import typer

from owner_server.cli.common import fail, out
from owner_server.core.datadir import DEPLOYMENT_FILE, init_data_dir, open_installation
from owner_server.core.db import session_scope
from owner_server.demo.sample import write_sample
from owner_server.identity import admin, phones
from owner_server.identity.passwords import generate_password
from owner_server.lists import importer
from owner_server.lists.importing.pipeline import open_file
from owner_server.models import Role
from owner_server.telephony.settings import TELEPHONY_FILE
from shared.errors import CustosError
from shared.policy import CampaignPolicy

__all__ = ["DEMO_ADMIN", "DemoSecrets", "demo", "prepare_demo"]

MARKER = ".custos-demo"
DEMO_CAMPAIGN = "Oferta jesienna"
DEMO_OUTSOURCER = "Demo Call Center"
DEMO_AGENT = "agent.demo"
#: The demo's owner admin, who logs in to the console (and enrols TOTP at the first login).
DEMO_ADMIN = "demo.admin"
#: The demo agent's phone on the simulated telephony (nothing is dialled).
DEMO_PHONE = "PJSIP/demo-agent"
DEMO_TELEPHONY = """# The demo's telephony: simulated (no PBX, no number is ever dialled).
# For Asterisk, see the README (provider = "ari" and an [ari] section).
provider = "simulated"
agent_ring_timeout_s = 20

[simulated]
agent_ring_s = 1.0
customer_ring_min_s = 2.0
customer_ring_max_s = 4.0
answer_rate = 0.75
busy_rate = 0.1
"""


def write_demo_telephony(data_dir: Path) -> None:
    """Write the demo's ``telephony.toml``: the simulated provider."""
    (data_dir / TELEPHONY_FILE).write_text(DEMO_TELEPHONY, encoding="utf-8")


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            taken = int(sock.getsockname()[1])
            if taken != preferred:
                out.print(f"[yellow]note:[/] port {preferred} is busy; the demo uses {taken}")
            return taken
    raise fail("no free TCP port on 127.0.0.1")


@contextmanager
def _demo_lock(data_dir: Path) -> Iterator[IO[str]]:
    """Hold ``<data dir>.lock`` while this demo (and its server, which inherits it) runs.

    A second ``demo`` on the same data dir would otherwise wipe a running
    demo's data under its server. The lock is an advisory ``flock`` (released
    by the kernel when the last holder exits, ``kill -9`` included).

    Raises:
        typer.Exit: Another demo holds the lock (exit 2, one line).
    """
    lock_path = data_dir.with_name(data_dir.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+", encoding="ascii")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise fail(
                f"a demo is already running with {data_dir} (process {holder}); stop it first or use another --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield handle
    finally:
        handle.close()


class DemoSecrets(NamedTuple):
    """The demo's one-time secrets: the agent's enrolment code and password, the console admin's password."""

    enrolment_code: str
    password: str
    admin_password: str


def prepare_demo(data_dir: Path, *, port: int, contacts: int = 1000) -> DemoSecrets:
    """Create a demo installation: sample list imported, outsourcer, campaign, agent, console admin.

    Args:
        data_dir: Directory for the demo (recreated if it is an earlier demo's).
        port: Port the server will listen on.
        contacts: Size of the generated sample list.

    Returns:
        The agent's enrolment code and password, and the password of the console admin :data:`DEMO_ADMIN`.

    Raises:
        typer.Exit: The directory exists and is not a demo directory.
    """
    if data_dir.exists():
        if not (data_dir / MARKER).exists():
            raise fail(f"{data_dir} exists and is not a Custos demo dir; choose another --data-dir")
        shutil.rmtree(data_dir)
    init_data_dir(
        data_dir,
        organisation="Custos Demo Telecom",
        host_names=["localhost", "127.0.0.1"],
        public_url=f"https://127.0.0.1:{port}",
    )
    (data_dir / MARKER).write_text("demo\n", encoding="ascii")
    sample = data_dir / "sample-contacts.csv"
    write_sample(sample, contacts)
    policy = CampaignPolicy.model_validate(_demo_policy())
    password, admin_password = generate_password(), generate_password()
    inst = open_installation(data_dir)
    try:
        with session_scope(inst.engine) as session:
            admin.add_outsourcer(session, name=DEMO_OUTSOURCER, actor="admin:demo")
            admin.create_campaign(session, name=DEMO_CAMPAIGN, policy=policy, keys=inst.keys, actor="admin:demo")
            new = admin.add_agent(
                session,
                login=DEMO_AGENT,
                outsourcer=DEMO_OUTSOURCER,
                campaign=DEMO_CAMPAIGN,
                password=password,
                actor="admin:demo",
            )
            phones.set_phone(session, login=DEMO_AGENT, endpoint=DEMO_PHONE, actor="admin:demo")
            admin.create_user(session, login=DEMO_ADMIN, role=Role.ADMIN, password=admin_password, actor="admin:demo")
        write_demo_telephony(data_dir)
        opened = open_file(sample, region="PL")
        report = importer.import_file(
            inst.engine, keys=inst.keys, campaign_name=DEMO_CAMPAIGN, opened=opened, actor="admin:demo"
        )
        counts = f"{len(report.rejected)} rejected, {len(report.duplicates)} duplicates"
        out.print(f"Imported {report.imported} contacts ({counts}); the plain-text sample file was deleted")
    finally:
        sample.unlink(missing_ok=True)  # the list lives encrypted in the vault only, as an owner's import should
        inst.close()
    return DemoSecrets(new.enrolment_code, password, admin_password)


def _demo_policy() -> dict[str, object]:
    text = resources.files("owner_server.demo").joinpath("policy.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise fail("the server stopped during start-up")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise fail("the server did not start listening in time")


def demo(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Demo data dir (recreated each run).")] = Path(
        "custos-demo-data"
    ),
    port: Annotated[int, typer.Option(help="Preferred port (a free one is taken if busy).")] = 8443,
    contacts: Annotated[int, typer.Option(help="Sample contacts to generate.")] = 1000,
    no_client: Annotated[bool, typer.Option("--no-client", help="Only run the server.")] = False,
) -> None:
    """Set up a demo installation, start the server and the agent client already enrolled."""
    data_dir = data_dir.resolve()
    _stop_children_on_termination()
    with _demo_lock(data_dir) as lock:
        _run_demo(data_dir, lock, port=port, contacts=contacts, no_client=no_client)


def _run_demo(data_dir: Path, lock: IO[str], *, port: int, contacts: int, no_client: bool) -> None:
    port = _free_port(port)
    console_port = _free_port(port + 1 if port < 65535 else 8444)
    try:
        code, password, admin_password = prepare_demo(data_dir, port=port, contacts=contacts)
    except CustosError as exc:
        raise fail(exc.message) from None
    out.print(f"Demo data dir: {data_dir}")
    out.print("Demo-only credentials, generated for this run:")
    out.print(f"Agent login: [bold]{DEMO_AGENT}[/]  password: [bold]{password}[/]  (enrolment code {code})")
    out.print(
        f"Console: https://127.0.0.1:{console_port}  login: [bold]{DEMO_ADMIN}[/]  password: [bold]{admin_password}[/]"
        "  (the first login sets up TOTP: scan the QR code with an authenticator app)"
    )
    # own sessions: a terminal's Ctrl+C reaches only this process, which stops the client, then the server
    server = subprocess.Popen(  # noqa: S603 - our own entry point
        [
            sys.executable,
            "-m",
            "owner_server",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--console-port",
            str(console_port),
            "--no-access-log",  # the client polls its call each second: a line each would bury the banner
        ],
        start_new_session=True,
        pass_fds=(lock.fileno(),),  # the lock lives as long as the server, even if this process is killed
    )
    client: subprocess.Popen[bytes] | None = None
    try:
        _wait_listening(port, server)
        out.print(f"Server: https://127.0.0.1:{port} (TLS, demo CA). Press Ctrl+C to stop.")
        if no_client:
            server.wait()
            return
        client = subprocess.Popen(  # noqa: S603 - our own entry point
            [
                sys.executable,
                "-m",
                "agent_client",
                "--config",
                str(data_dir / DEPLOYMENT_FILE),
                "--enrol-code",
                code,
                "--login",
                DEMO_AGENT,
                "--password-stdin",
                "--ephemeral-keyring",
            ],
            stdin=subprocess.PIPE,
            start_new_session=True,
        )
        assert client.stdin is not None
        client.stdin.write(password.encode() + b"\n")
        client.stdin.close()
        client.wait()
    except KeyboardInterrupt:
        out.print("Stopping the demo...")
    finally:
        for proc in (client, server):  # the client first: its last events still reach the server
            if proc is not None:
                _stop(proc)


def _stop_children_on_termination() -> None:
    """Treat SIGTERM/SIGHUP (``kill``, a closed terminal) like Ctrl+C, so server and client are stopped too."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a child and wait (killing it after 10 s); a second Ctrl+C does not interrupt this."""
    if proc.poll() is None:
        proc.terminate()
    deadline = time.monotonic() + 10
    while proc.poll() is None:
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
        except KeyboardInterrupt:
            continue
