"""Several ``custos-server serve`` processes on one PostgreSQL: seeding, starting, and the double-claim check.

Used by ``tests/e2e/test_several_processes.py``, ``tests/e2e/test_ari_several_processes.py`` and
``bench/https_bench.py``.
The installation is seeded in-process through the services (the CLI's code
path without one process per agent); the servers are real processes over TLS.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import text
from sqlalchemy.engine import Engine

from owner_server.core.datadir import init_data_dir, open_installation
from owner_server.core.db import make_engine, session_scope
from owner_server.identity import admin
from owner_server.identity.outsourcers import set_limits
from owner_server.identity.passwords import hash_password
from shared.policy import CampaignPolicy
from tests.owner_server.helpers import add_campaign

__all__ = [
    "AGENT_PASSWORD",
    "LeaseCheck",
    "check_leases",
    "contained_policy",
    "free_port",
    "scalar",
    "seed",
    "serve",
    "set_session_settings",
]

AGENT_PASSWORD = "several-processes-pw-1"  # noqa: S105 - throwaway agents of a test installation
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def contained_policy(*, velocity: int = 1000, per_hour: int = 10_000, per_day: int = 100_000) -> CampaignPolicy:
    """A policy with every limit and rule on, at thresholds a full-speed honest agent does not reach in a test.

    Calling windows and working hours span the whole week, so the result does not depend on the hour;
    ``short_handling`` looks at the last 1,000 outcomes (an agent's full-speed claims are not calls).
    """
    return CampaignPolicy.model_validate(
        {
            "script": "Hello",
            "timezone": "Europe/Warsaw",
            "fields": {"first_name": "visible", "city": "visible"},
            "dispositions": [{"code": "no_answer", "label": "No answer"}],
            "strategy": {"windows": [{"days": ALL_DAYS, "start": "00:00", "end": "24:00"}], "max_attempts": 1},
            "limits": {"per_hour": per_hour, "per_day": per_day},
            "rules": {
                "velocity": {"max_records": velocity, "window_minutes": 60, "action": "suspend"},
                "short_handling": {"records": 1000, "min_median_s": 0.001, "action": "suspend"},
                "hours": {"start": "00:00:00", "end": "23:59:59", "days": ALL_DAYS, "action": "alert"},
            },
        }
    )


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Seeded:
    """A seeded data dir: each agent's login and enrolment code, by outsourcer."""

    data_dir: Path
    agents: dict[str, list[tuple[str, str]]]

    @property
    def ca(self) -> Path:
        """The installation's CA certificate."""
        return self.data_dir / "tls" / "ca.pem"


def seed(
    root: Path,
    database_url: str,
    *,
    policy: CampaignPolicy,
    contacts: int,
    agents: dict[str, int],
    outsourcer_per_hour: dict[str, int] | None = None,
    outsourcer_per_day: dict[str, int] | None = None,
) -> Seeded:
    """Init a data dir on ``database_url`` with one campaign of encrypted contacts and agents per outsourcer.

    Args:
        root: Where the data dir goes (``root/data``).
        database_url: An empty PostgreSQL database, or "" for SQLite in the data dir.
        policy: The campaign's policy.
        contacts: How many contacts.
        agents: Outsourcer name → how many agents (logins ``<outsourcer>-<n>``, lower case).
        outsourcer_per_hour: Outsourcer name → its own (tighter) records-per-hour limit.
        outsourcer_per_day: Outsourcer name → its own (tighter) records-per-day limit.

    Every agent has the password :data:`AGENT_PASSWORD`, hashed once (one salt for all: a throwaway
    installation; 3,000 separate Argon2id hashes would take minutes of start-up).
    """
    data_dir = root / "data"
    init_data_dir(
        data_dir,
        organisation="Several",
        host_names=["127.0.0.1"],
        public_url="https://127.0.0.1:1",
        database_url=database_url,
    )
    inst = open_installation(data_dir)
    made: dict[str, list[tuple[str, str]]] = {}
    once = functools.cache(hash_password)
    try:
        with session_scope(inst.engine) as session, mock.patch.object(admin, "hash_password", once):
            people = [{"first_name": f"Imię{n}", "city": "Łódź", "phone": f"+4850{n:07d}"} for n in range(contacts)]
            add_campaign(inst, session, name="Multi", people=people, policy=policy)
            for org, count in agents.items():
                admin.add_outsourcer(session, name=org, actor="admin:test")
                hour, day = (outsourcer_per_hour or {}).get(org), (outsourcer_per_day or {}).get(org)
                if hour is not None or day is not None:
                    set_limits(session, name=org, per_hour=hour, per_day=day, clear=False, actor="admin:test")
                made[org] = []
                for n in range(count):
                    login = f"{org.lower()}-{n}"
                    new = admin.add_agent(
                        session,
                        login=login,
                        outsourcer=org,
                        campaign="Multi",
                        password=AGENT_PASSWORD,
                        actor="admin:test",
                    )
                    made[org].append((login, new.enrolment_code))
    finally:
        inst.close()
    return Seeded(data_dir=data_dir, agents=made)


def set_session_settings(data_dir: Path, *, access_token_ttl_s: int) -> None:
    """Give the installation a short access-token life (``[sessions]`` in settings.toml)."""
    settings = data_dir / "settings.toml"
    text, count = re.subn(
        r"(?m)^access_token_ttl_s = \d+$", f"access_token_ttl_s = {access_token_ttl_s}", settings.read_text("utf-8")
    )
    assert count == 1, "init writes the [sessions] defaults"
    settings.write_text(text, encoding="utf-8")


def _wait_tls(port: int, ca: Path, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    ctx = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited during start-up ({proc.returncode})")
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
                ctx.wrap_socket(raw, server_hostname="127.0.0.1"),
            ):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not come up")


@contextlib.contextmanager
def serve(
    data_dir: Path, port: int, log_path: Path, *, workers: int = 1, console_port: int = 0
) -> Iterator[subprocess.Popen[bytes]]:
    """``custos-server serve --workers N`` as a real process until the block ends, then SIGTERM.

    With several workers it waits until each has logged its start (uvicorn's
    "Application startup complete"), so every process takes connections.
    """
    args = ["serve", "--data-dir", str(data_dir), "--port", str(port), "--console-port", str(console_port)]
    args += ["--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if k != "WEB_CONCURRENCY"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "owner_server", *args], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        try:
            _wait_tls(port, data_dir / "tls" / "ca.pem", proc)
            deadline = time.monotonic() + 60
            while log_path.read_text(errors="replace").count("Application startup complete") < workers:
                assert time.monotonic() < deadline, "not every worker started"
                time.sleep(0.2)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass(frozen=True)
class LeaseCheck:
    """What the double-claim check found."""

    leases: int
    contacts: int
    open_leases: int
    contacts_open_twice: int
    overlapping: int
    issued_entries: int


_CHECK = """
SELECT
  (SELECT count(*) FROM lease),
  (SELECT count(DISTINCT contact_id) FROM lease),
  (SELECT count(*) FROM lease WHERE closed_at IS NULL),
  (SELECT count(*) FROM (SELECT contact_id FROM lease WHERE closed_at IS NULL
                         GROUP BY contact_id HAVING count(*) > 1) AS twice),
  (SELECT count(*) FROM (SELECT issued_at, lag(closed_at) OVER w AS prev_closed, lag(id) OVER w AS prev_id
                         FROM lease WINDOW w AS (PARTITION BY contact_id ORDER BY issued_at, id)) AS ordered
     WHERE prev_id IS NOT NULL AND (prev_closed IS NULL OR prev_closed > issued_at)),
  (SELECT count(*) FROM auditentry WHERE action = 'record_issued')
"""


def check_leases(engine: Engine) -> LeaseCheck:
    """Count double claims: a contact with two open leases, or a lease issued before the contact's previous one closed.

    Leases of a contact in issue order: each must be issued at or after the previous one closed (an
    earlier lease still open overlaps every later one).
    """
    with engine.connect() as conn:
        row: Any = conn.execute(text(_CHECK)).one()
    return LeaseCheck(*(int(v) for v in row))


def scalar(url: str, sql: str, **params: Any) -> Any:
    """One value read by ``sql`` (bound ``params``) on a fresh engine of the database at ``url``, disposed after.

    Raises:
        sqlalchemy.exc.NoResultFound, sqlalchemy.exc.MultipleResultsFound: Not exactly one row.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()
    finally:
        engine.dispose()
