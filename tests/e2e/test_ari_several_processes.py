"""Telephony over ARI with two server processes behind one PostgreSQL and one PBX.

Real ``custos-server serve`` processes over TLS on loopback (A, and B with
``--workers 2``), one throwaway PostgreSQL, and the ARI double as the PBX (Asterisk cannot run here; the
double keeps Asterisk's rule of one WebSocket per Stasis application, see
:mod:`tests.support.ari_double`). Server B starts after A, so with one shared
application name B's socket would take every event of A's calls. Each
process registers its own application instead; a call placed on A is
followed by A whichever process the agent polls or hangs up through, its end
and disposition are audited once, one agent still has one call at a time
across processes, and a call whose process is killed mid-call is finished by
the other process's orphan check. No phone number reaches an agent's
response or a server's log; the PBX sees it only in the customer legs'
originate bodies.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from owner_server.core.datadir import open_installation
from owner_server.core.db import session_scope
from owner_server.identity.phones import set_phone
from tests.support.ari_process import ari_double, read_events, read_log
from tests.support.leaks import phone_pattern
from tests.support.multi_server import AGENT_PASSWORD, contained_policy, free_port, scalar, seed, serve
from tests.support.threads import in_threads
from tests.support.wire_agent import WireAgent

from .conftest import cli

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

CONTACTS = 24
A, B = 0, 1


def _phones() -> list[str]:
    return [f"+4850{n:07d}" for n in range(CONTACTS)]  # as tests.support.multi_server.seed makes them


@pytest.fixture(scope="module")
def pbx(pg_cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("ariprocs")
    url = pg_cluster.new_database()
    seeded = seed(root, url, policy=contained_policy(), contacts=CONTACTS, agents={"BPO": 5})
    inst = open_installation(seeded.data_dir)
    try:
        with session_scope(inst.engine) as session:
            for n, (login, _code) in enumerate(seeded.agents["BPO"]):
                set_phone(session, login=login, endpoint=f"PJSIP/10{n:02d}", actor="admin:test")
    finally:
        inst.close()
    with ari_double(root, "answered") as (ari_port, ari_log):
        (seeded.data_dir / "telephony.toml").write_text(
            f'provider = "ari"\n[ari]\nurl = "http://127.0.0.1:{ari_port}"\nuser = "custos"\n'
            'password = "ari-secret"\napp = "custos"\norphan_check_s = 1\n',
            encoding="utf-8",
        )
        ports = [free_port(), free_port()]
        logs = [root / "server-a.log", root / "server-b.log"]
        with serve(seeded.data_dir, ports[A], logs[A]):
            _wait_sockets(ari_log, 1)
            with serve(seeded.data_dir, ports[B], logs[B], workers=2):  # B's two sockets are the newer ones
                _wait_sockets(ari_log, 3)
                yield {
                    "root": root,
                    "seeded": seeded,
                    "url": url,
                    "urls": [f"https://127.0.0.1:{p}" for p in ports],
                    "logs": logs,
                    "ari_log": ari_log,
                    "ari_port": ari_port,
                    "bodies": [],
                }


def _wait_sockets(ari_log: Path, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(_socket_apps(ari_log)) < count:
        assert time.monotonic() < deadline, "a server did not connect its ARI events socket"
        time.sleep(0.1)


def _socket_apps(ari_log: Path) -> list[str]:
    return [e["query"]["app"] for e in read_log(ari_log) if e["method"] == "WEBSOCKET"]


def _agent(pbx: dict[str, Any], n: int, urls: list[str] | None = None) -> WireAgent:
    login, code = pbx["seeded"].agents["BPO"][n]
    agent = WireAgent(urls or pbx["urls"], pbx["seeded"].ca)
    agent.enrol(code)
    agent.login(login, AGENT_PASSWORD)
    return agent


def _keep(pbx: dict[str, Any], answer: httpx.Response) -> httpx.Response:
    pbx["bodies"].append(answer.text)
    return answer


def _place(pbx: dict[str, Any], agent: WireAgent, *, via: int) -> tuple[str, str]:
    record = _keep(pbx, agent.post("/next", {}, via=via)).json()["record"]
    placed = _keep(pbx, agent.post("/calls", {"lease_id": record["lease_id"], "request_id": uuid.uuid4().hex}, via=via))
    assert placed.status_code == 200, placed.text
    return record["lease_id"], placed.json()["call_id"]


def _poll_until(pbx: dict[str, Any], agent: WireAgent, call_id: str, state: str, seen: list[tuple[int, str]]) -> dict:
    """Poll the call on A and B in turn until it is in ``state``; ``seen`` gets (process, state)."""
    deadline = time.monotonic() + 20
    via = 0
    while True:
        view = _keep(pbx, agent.get(f"/calls/{call_id}", via=via))
        assert view.status_code == 200, view.text
        seen.append((via, view.json()["state"]))
        if view.json()["state"] == state:
            return view.json()
        assert time.monotonic() < deadline, f"call never reached {state}: {seen[-5:]}"
        via = 1 - via
        time.sleep(0.05)


def _scalar(pbx: dict[str, Any], sql: str, **params: Any) -> Any:
    return scalar(pbx["url"], sql, **params)


def _audited(pbx: dict[str, Any], action: str, call_id: str) -> int:
    sql = "SELECT count(*) FROM auditentry WHERE action = :a AND details LIKE :c"
    return int(_scalar(pbx, sql, a=action, c=f"%{call_id}%"))


def _call_apps(pbx: dict[str, Any], call_id: str) -> set[str]:
    legs = [e for e in read_log(pbx["ari_log"]) if e["path"] == "/ari/channels" and e["method"] == "POST"]
    return {e["body"]["app"] for e in legs if e["body"].get("channelId", "").startswith(call_id)}


def _call_events(pbx: dict[str, Any], call_id: str) -> list[dict]:
    return [e for e in read_events(pbx["ari_log"]) if e["channel"].startswith(call_id)]


def _one_call_across(pbx: dict[str, Any], n: int, placed_on: int, results: dict[int, dict]) -> None:
    agent = _agent(pbx, n)
    try:
        lease_id, call_id = _place(pbx, agent, via=placed_on)
        seen: list[tuple[int, str]] = []
        _poll_until(pbx, agent, call_id, "answered", seen)
        for via in (A, B):  # the answered call, as each process tells it
            seen.append((via, _keep(pbx, agent.get(f"/calls/{call_id}", via=via)).json()["state"]))
        hung = _keep(pbx, agent.post(f"/calls/{call_id}/hangup", {}, via=1 - placed_on))
        assert hung.status_code == 200, hung.text
        final = _poll_until(pbx, agent, call_id, "ended", seen)
        again = _keep(pbx, agent.post(f"/calls/{call_id}/hangup", {}, via=placed_on))  # a second hang-up: no change
        outcome = agent.post("/dispositions", {"lease_id": lease_id, "code": "no_answer"}, via=1 - placed_on)
        assert outcome.status_code == 200, outcome.text
        results[n] = {"call_id": call_id, "final": final, "again": again.json(), "seen": seen}
    finally:
        agent.close()


def test_calls_placed_on_one_process_and_hung_up_on_the_other_end_once(pbx):
    apps = _socket_apps(pbx["ari_log"])
    assert len(set(apps)) == 3 and all(a.startswith("custos-") for a in apps)  # each process its own app
    owners = {A: set(apps[:1]), B: set(apps[1:3])}  # A's app; the apps of B's two workers
    results: dict[int, dict] = {}
    in_threads(_one_call_across, ((pbx, n, via, results) for n, via in ((0, A), (1, B))), timeout_s=60)
    assert sorted(results) == [0, 1]
    for n, placed_on in ((0, A), (1, B)):
        got = results[n]
        call_id = got["call_id"]
        assert got["final"]["result"] == "completed" and got["again"]["result"] == "completed"
        states = [s for _via, s in got["seen"]]
        assert {"answered", "ended"} <= set(states)
        assert {via for via, s in got["seen"] if s == "answered"} == {A, B}  # the answered call seen on both
        legs_app = _call_apps(pbx, call_id)
        assert len(legs_app) == 1 and legs_app <= owners[placed_on]  # both legs into the placing process's app
        events = _call_events(pbx, call_id)
        assert events and all(e["delivered"] and {e["app"]} == legs_app for e in events)
        assert Counter(e["type"] for e in events)["StasisStart"] == 2
        assert _audited(pbx, "call_placed", call_id) == 1
        assert _audited(pbx, "call_ended", call_id) == 1
        lease = _scalar(pbx, "SELECT lease_id FROM call WHERE id = :c", c=call_id)
        sql = "SELECT count(*) FROM auditentry WHERE action = 'disposition_recorded' AND details LIKE :l"
        assert _scalar(pbx, sql, l=f"%{lease}%") == 1


def test_one_call_at_a_time_holds_across_processes(pbx):
    agent, other = _agent(pbx, 2), _agent(pbx, 3)
    try:
        record = _keep(pbx, agent.post("/next", {}, via=A)).json()["record"]
        bodies = [{"lease_id": record["lease_id"], "request_id": f"race-{via}"} for via in (A, B)]
        answers: list[httpx.Response] = [None, None]  # type: ignore[list-item]

        def dial(via: int) -> None:
            answers[via] = agent.post("/calls", bodies[via], via=via)

        in_threads(dial, ((via,) for via in (A, B)), timeout_s=30)
        for answer in answers:
            _keep(pbx, answer)
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 409], [a.text for a in answers]
        won = next(n for n, a in enumerate(answers) if a.status_code == 200)
        assert answers[1 - won].json()["code"] == "call_in_progress"
        call_id = answers[won].json()["call_id"]
        retried = _keep(pbx, agent.post("/calls", bodies[won], via=1 - won))  # the same request on the other process
        assert retried.status_code == 200 and retried.json()["call_id"] == call_id
        for via in (A, B):  # another agent can neither see nor end it, on either process
            assert other.get(f"/calls/{call_id}", via=via).status_code == 404
            assert other.post(f"/calls/{call_id}/hangup", {}, via=via).status_code == 404
        _poll_until(pbx, agent, call_id, "answered", [])
        _keep(pbx, agent.post(f"/calls/{call_id}/hangup", {}, via=1 - won))
        assert _poll_until(pbx, agent, call_id, "ended", [])["result"] == "completed"
    finally:
        agent.close()
        other.close()
    agent_legs = [
        e
        for e in read_log(pbx["ari_log"])
        if e["method"] == "POST" and e["path"] == "/ari/channels" and e["body"]["endpoint"] == "PJSIP/1002"
    ]
    assert len(agent_legs) == 1  # one agent leg for the race and the retry
    assert _audited(pbx, "call_placed", call_id) == 1 and _audited(pbx, "call_ended", call_id) == 1


def test_a_call_whose_process_is_killed_is_finished_by_the_other(pbx):
    port, log = free_port(), pbx["root"] / "server-c.log"
    pbx["logs"].append(log)
    with serve(pbx["seeded"].data_dir, port, log) as doomed:
        _wait_sockets(pbx["ari_log"], 4)
        agent = _agent(pbx, 4, [pbx["urls"][B], f"https://127.0.0.1:{port}"])
        try:
            _lease, call_id = _place(pbx, agent, via=1)
            deadline = time.monotonic() + 20
            while _keep(pbx, agent.get(f"/calls/{call_id}", via=0)).json()["state"] != "answered":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            doomed.kill()  # SIGKILL mid-call: no goodbye, its socket just closes
            doomed.wait(timeout=10)
            time.sleep(0.3)
            hung = httpx.post(f"http://127.0.0.1:{pbx['ari_port']}/_double/far-end-hangup/{call_id}-agent")
            assert hung.status_code == 204  # the agent hangs up their phone; nobody hears the event
            started = time.monotonic()
            final = _poll_until_on(pbx, agent, call_id, via=0)
            took = time.monotonic() - started
        finally:
            agent.close()
    assert final["result"] == "completed" and took < 10, (final, took)
    events = _call_events(pbx, call_id)
    assert [e["type"] for e in events if not e["delivered"]][:1] == ["ChannelHangupRequest"]  # dropped, as Asterisk
    customer_hangup = [
        e
        for e in read_log(pbx["ari_log"])
        if e["method"] == "DELETE" and e["path"] == f"/ari/channels/{call_id}-customer"
    ]
    assert customer_hangup  # the lone customer leg was hung up by B's orphan check
    assert _audited(pbx, "call_ended", call_id) == 1
    survivors = "\n".join(pbx["logs"][n].read_text(errors="replace") for n in (A, B))
    assert "ended by the orphan check" in survivors


def _poll_until_on(pbx: dict[str, Any], agent: WireAgent, call_id: str, *, via: int) -> dict:
    deadline = time.monotonic() + 20
    while True:
        view = _keep(pbx, agent.get(f"/calls/{call_id}", via=via))
        if view.json()["state"] == "ended":
            return view.json()
        assert time.monotonic() < deadline, view.text
        time.sleep(0.1)


def test_no_number_reached_an_agent_or_a_log_and_the_audit_log_verifies(pbx):
    blob = "\n".join(pbx["bodies"])
    logs = "\n".join(p.read_text(errors="replace") for p in pbx["logs"])
    assert logs.count("each server process registers its own Stasis app custos-<8 hex>") == 3
    numbers = _phones()
    for number in numbers:
        assert not phone_pattern(number).search(blob), "a number reached an agent"
        assert not phone_pattern(number).search(logs), "a number reached a server log"
    requests = read_log(pbx["ari_log"])
    with_number = [e for e in requests if any(phone_pattern(n).search(str(e)) for n in numbers)]
    customer_legs = [e for e in requests if e["method"] == "POST" and "customer," in str(e["body"].get("appArgs"))]
    assert with_number == customer_legs and all(e["query"] == {} for e in with_number)
    assert not any(phone_pattern(n).search(str(read_events(pbx["ari_log"]))) for n in numbers)
    done = cli(pbx["seeded"].data_dir, "audit", "verify", "--json", check=False)
    assert done.returncode == 0, done.stderr
