"""A call end to end: ``custos-server serve`` as a real process, the ARI double as another, an agent over TLS.

Set up through the real CLI (``agent set-phone``, ``telephony.toml``); the
agent dials its record, the agent leg rings, the customer answers, the call is
bridged, the agent hangs up. The double's log shows the number only in the
trunk leg's originate request; neither the agent's responses nor the server's
log hold a digit sequence of any number.
"""

from __future__ import annotations

import time
import tomllib

import pytest
import tomli_w

from tests.support.ari_process import ari_double, read_log

from .conftest import AGENT_PASSWORD, POLICY, cli, free_port, prepare_installation, running_server
from .scraper import Scraper

pytestmark = pytest.mark.e2e
ALL_DAY = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "23:59"}]


def _phone_digits(e164: str) -> str:
    return e164.removeprefix("+48")


def test_call_through_ari_reaches_only_the_trunk(tmp_path):
    from owner_server.demo.sample import expected_phones

    policy = tomllib.loads(POLICY.read_text(encoding="utf-8"))
    policy["strategy"] = {"windows": ALL_DAY}  # the test runs at any hour
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(tomli_w.dumps(policy), encoding="utf-8")
    port = free_port()
    data_dir, added = prepare_installation(tmp_path, port, policy=policy_file)
    cli(data_dir, "agent", "set-phone", "anna.k", "--endpoint", "PJSIP/1001")
    with ari_double(tmp_path, "answered") as (ari_port, ari_log):
        (data_dir / "telephony.toml").write_text(
            f'provider = "ari"\n[ari]\nurl = "http://127.0.0.1:{ari_port}"\nuser = "custos"\n'
            'password = "ari-secret"\napp = "custos"\n',
            encoding="utf-8",
        )
        server_log = tmp_path / "server.log"
        with running_server(data_dir, port, server_log):
            agent = Scraper(port, data_dir / "tls" / "ca.pem")
            agent.enrol_and_login(added["anna.k"]["enrolment_code"], "anna.k", AGENT_PASSWORD)
            bodies = []
            record = agent.post("/next", {}).json()["record"]
            placed = agent.post("/calls", {"lease_id": record["lease_id"], "request_id": "call-1"})
            assert placed.status_code == 200, placed.text
            call_id, states = placed.json()["call_id"], [placed.json()["state"]]
            headers = {"Authorization": f"Bearer {agent.token}"}
            deadline = time.monotonic() + 20
            while states[-1] != "answered" and time.monotonic() < deadline:
                r = agent.http.get(f"/api/v1/agent/calls/{call_id}", headers=headers)
                bodies.append(r.text)
                states.append(r.json()["state"])
                time.sleep(0.1)
            assert "agent_ringing" in states and "customer_ringing" in states and states[-1] == "answered"
            hung = agent.post(f"/calls/{call_id}/hangup", {})
            bodies += [placed.text, hung.text]
            while time.monotonic() < deadline:
                final = agent.http.get(f"/api/v1/agent/calls/{call_id}", headers=headers)
                bodies.append(final.text)
                if final.json()["state"] == "ended":
                    break
                time.sleep(0.1)
            agent.close()
            assert final.json()["result"] == "completed" and final.json()["talk_s"] >= 0
    phones = [_phone_digits(p) for p in expected_phones(1000)]
    blob = "\n".join(bodies)
    log_text = server_log.read_text(encoding="utf-8", errors="replace")
    assert "telephony: ari" in log_text
    for digits in phones:
        assert digits not in blob and digits not in log_text
    requests = read_log(ari_log)
    with_number = [e for e in requests if any(d in str(e) for d in phones)]
    assert len(with_number) == 1 and with_number[0]["body"]["appArgs"].startswith("customer,")
    assert with_number[0]["body"]["endpoint"].endswith("@owner-trunk") and with_number[0]["query"] == {}
