"""Several server processes behind one PostgreSQL hold what one process holds.

Real ``custos-server serve`` processes over TLS on loopback, one throwaway
PostgreSQL: two single-process servers on two ports (as a load balancer would
spread agents over two machines) and one ``serve --workers 2``. Agents send
each request to the next server in turn. Afterwards: no contact was ever
leased twice at once, every issuance has its audit entry and ``audit verify``
passes; a rogue agent spraying every server stops at its limit exactly and a
velocity rule suspends it once, with one alert, and every process refuses it.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from owner_server.core.db import make_engine
from tests.support.multi_server import (
    AGENT_PASSWORD,
    check_leases,
    contained_policy,
    free_port,
    scalar,
    seed,
    serve,
)
from tests.support.threads import in_threads
from tests.support.wire_agent import WireAgent

from .conftest import cli

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

HONEST = 8
CLAIMS_EACH = 12
ROGUE_LIMIT = 7  # the rogue outsourcer's own records-per-hour limit
VELOCITY = 20  # the campaign's velocity rule: more than 20 in 60 minutes suspends


@pytest.fixture(scope="module")
def servers(pg_cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("several")
    url = pg_cluster.new_database()
    seeded = seed(
        root,
        url,
        policy=contained_policy(velocity=VELOCITY),
        contacts=400,
        agents={"BPO": HONEST + 1, "Rogue": 1},
        outsourcer_per_hour={"Rogue": ROGUE_LIMIT},
    )
    ports = [free_port(), free_port(), free_port()]
    logs = [root / f"server-{n}.log" for n in range(3)]
    with (
        serve(seeded.data_dir, ports[0], logs[0]),
        serve(seeded.data_dir, ports[1], logs[1]),
        serve(seeded.data_dir, ports[2], logs[2], workers=2) as parent,
    ):
        yield {
            "seeded": seeded,
            "urls": [f"https://127.0.0.1:{p}" for p in ports],
            "url": url,
            "logs": logs,
            "parent": parent,
        }


def _agent(servers: dict[str, Any], login: str, code: str) -> WireAgent:
    agent = WireAgent(servers["urls"], servers["seeded"].ca)
    agent.enrol(code)
    agent.login(login, AGENT_PASSWORD)
    return agent


def test_workers_share_the_port_in_their_own_processes(servers):
    log = servers["logs"][2].read_text(errors="replace")
    assert "in 2 processes" in log
    assert log.count("Started server process") == 2  # each worker says its own pid
    assert servers["parent"].poll() is None


def test_agents_claiming_through_every_process_never_share_a_contact(servers):
    honest = servers["seeded"].agents["BPO"][:HONEST]
    issued: list[list[str]] = [[] for _ in honest]

    def work(n: int) -> None:
        agent = _agent(servers, *honest[n])
        try:
            for _ in range(CLAIMS_EACH):
                answer, record = agent.claim()
                assert answer.status_code == 200, answer.text
                assert record is not None, "the campaign ran out of contacts"
                issued[n].append(record["contact_ref"])
        finally:
            agent.close()

    in_threads(work, ((n,) for n in range(len(honest))), timeout_s=300)
    refs = [ref for mine in issued for ref in mine]
    assert len(refs) == HONEST * CLAIMS_EACH
    assert len(set(refs)) == len(refs)  # max_attempts 1: a contact is issued once at most
    engine = make_engine(servers["url"])
    try:
        found = check_leases(engine)
    finally:
        engine.dispose()
    assert found.contacts_open_twice == 0 and found.overlapping == 0
    assert found.leases >= HONEST * CLAIMS_EACH and found.issued_entries == found.leases


#: The answers that stop the rogue (others, e.g. an outcome for a record another loop already closed, do not).
STOPS = frozenset({"quota_reached", "account_suspended"})


def _spray(servers: dict[str, Any], rogue: WireAgent, threads: int = 6) -> tuple[list[dict], list[dict]]:
    """The rogue: one login, ``threads`` loops each on its own server, claiming until refused."""
    records: list[dict] = []
    refusals: list[dict] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for _ in range(200):
            answer, record = rogue.claim(via=n % len(servers["urls"]))
            with lock:
                if record is not None and record["lease_id"] not in {r["lease_id"] for r in records}:
                    records.append(record)  # another loop may have been given the same open record again
                if answer.status_code != 200:
                    refusals.append({"status": answer.status_code, **answer.json()})
                    if answer.json().get("code") in STOPS:
                        return

    in_threads(work, ((n,) for n in range(threads)), timeout_s=300)
    assert not [r for r in refusals if r["status"] >= 500], refusals  # e.g. a deadlock between two of its requests
    return records, refusals


def test_a_rogue_spraying_every_process_stops_at_its_limit_exactly(servers):
    login, code = servers["seeded"].agents["Rogue"][0]
    rogue = _agent(servers, login, code)
    try:
        records, refusals = _spray(servers, rogue)
    finally:
        rogue.close()
    assert len(records) == ROGUE_LIMIT  # not the limit times the processes
    assert {r["code"] for r in refusals} & STOPS == {"quota_reached"}
    leases = scalar(
        servers["url"], "SELECT count(*) FROM lease JOIN app_user u ON u.id = lease.user_id WHERE u.login = :l", l=login
    )
    assert leases == ROGUE_LIMIT


def test_a_rogue_tripping_velocity_on_several_processes_is_suspended_once(servers):
    login, code = servers["seeded"].agents["BPO"][HONEST]
    rogue = _agent(servers, login, code)
    try:
        records, refusals = _spray(servers, rogue)
        still = [rogue.post("/next", {}, via=via) for via in range(len(servers["urls"]))]
    finally:
        rogue.close()
    assert len(records) == VELOCITY
    assert "account_suspended" in {r["code"] for r in refusals}
    url = servers["url"]
    suspended = scalar(
        url,
        "SELECT count(*) FROM auditentry WHERE action = 'agent_suspended' AND object_id = "
        "(SELECT ref FROM app_user WHERE login = :l)",
        l=login,
    )
    alerts = scalar(
        url,
        "SELECT count(*) FROM alert WHERE rule = 'velocity' AND user_id = (SELECT id FROM app_user WHERE login = :l)",
        l=login,
    )
    assert (suspended, alerts) == (1, 1)
    assert [(r.status_code, r.json()["code"]) for r in still] == [(403, "account_suspended")] * 3  # every process


def test_the_audit_log_verifies_after_every_process_wrote_to_it(servers):
    done = cli(servers["seeded"].data_dir, "audit", "verify", "--json", check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
