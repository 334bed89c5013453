"""End to end: a scripted client with valid credentials, at full speed, over real HTTPS, is contained.

The real ``custos-server serve`` process, the default limits and rules of a
campaign policy that sets none. The scraper is stopped in the request that
tripped the rule; its token stops working; it never sees a phone number; and
the owner's own commands name it for every record it took.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import time

import pytest

from tests.support.receivers import make_ca, smtp_receiver, wait_for, webhook_receiver, write_alert_settings

from .conftest import AGENT_PASSWORD, CONTACTS, cli, free_port, prepare_installation, running_server
from .scraper import Scraper

pytestmark = pytest.mark.e2e


SECRET = b"e2e-scraper-webhook-secret-0123456789"


@pytest.fixture(scope="module")
def contained(tmp_path_factory):
    root = tmp_path_factory.mktemp("scraper")
    port = free_port()
    data_dir, added = prepare_installation(root, port, agents=("bot.1", "human.1"))
    ca = make_ca(root / "receivers-ca")
    login = ("custos-alerts", "smtp-password-1")
    with smtp_receiver(ca, login=login) as smtp, webhook_receiver(SECRET) as hook:
        env = write_alert_settings(data_dir, ca=ca, smtp=smtp, smtp_login=login, webhook=hook)
        with running_server(data_dir, port, root / "server.log", env=env):
            scraper = Scraper(port, data_dir / "tls" / "ca.pem")
            scraper.enrol_and_login(added["bot.1"]["enrolment_code"], "bot.1", AGENT_PASSWORD)
            haul = scraper.take_everything()
            stopped_at = time.monotonic()
            # at night an outside-hours alert arrives first: wait for the suspension's own alert on both channels
            delivered = wait_for(
                lambda: (
                    any("short_handling" in str(m) for m in smtp.messages)
                    and any(h.get("rule") == "short_handling" for h in hook.received)
                ),
                timeout=60,
            )
            took_s = time.monotonic() - stopped_at
            yield {
                "root": root,
                "data_dir": data_dir,
                "port": port,
                "scraper": scraper,
                "haul": haul,
                "added": added,
                "alert": (delivered, took_s, list(smtp.messages), list(hook.received)),
            }
            scraper.close()


def test_full_speed_scraper_gets_a_handful_and_is_suspended_in_the_tripping_request(contained):
    haul = contained["haul"]
    # defaults: 10 outcomes with a median under 15 s suspend (velocity 30/10 min and 60/h come later)
    assert len(haul.records) == 10
    assert haul.stopped_status == 403 and haul.stopped_by["code"] == "account_suspended"
    assert len({r["contact_ref"] for r in haul.records}) == 10


def test_its_token_stops_working_and_it_cannot_log_back_in(contained):
    refused = contained["scraper"].still_works()
    assert refused.status_code == 403 and refused.json()["code"] == "account_suspended"  # token revoked, and why
    again = Scraper(contained["port"], contained["data_dir"] / "tls" / "ca.pem")
    try:
        fresh = again.post(
            "/enrol",
            {
                "enrolment_code": contained["added"]["bot.1"]["enrolment_code"],
                "device_public_key": "A" * 43 + "=",
                "device_name": "bot",
            },
        )
        assert fresh.status_code == 401  # the one-time code is spent; a suspended agent gets nothing new
    finally:
        again.close()


def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def test_no_phone_digits_in_anything_it_received(contained):
    data_dir = contained["data_dir"]
    out = contained["root"] / "export.csv"
    cli(data_dir, "export", "--campaign", "Jesień", "--out", str(out))
    with out.open(encoding="utf-8-sig", newline="") as fh:
        phones = [row["phone"].lstrip("'").removeprefix("+48") for row in csv.DictReader(fh, delimiter=";")]
    assert len(phones) == CONTACTS and all(len(p) == 9 for p in phones)
    received = [s for body in contained["haul"].bodies for s in _strings(json.loads(body))]
    assert len(received) > 100
    for text in received:
        digits = "".join(ch for ch in text if ch.isdigit())
        assert not any(p in digits for p in phones)


def test_the_suspension_and_its_rule_are_in_the_audit_log(contained):
    verify = cli(contained["data_dir"], "audit", "verify", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    db = sqlite3.connect(contained["data_dir"] / "custos.db")
    try:
        rows = db.execute("SELECT action, details FROM auditentry WHERE action IN ('alert_raised', 'agent_suspended')")
        found = {
            action: json.loads(details)
            for action, details in rows
            if json.loads(details).get("rule", "short_handling") == "short_handling"  # not an outside-hours alert
        }
    finally:
        db.close()
    assert found["alert_raised"]["rule"] == "short_handling"
    assert found["agent_suspended"]["reason"] == "short_handling"
    assert found["agent_suspended"]["records"] == 10


def test_the_alert_reaches_the_owners_mailbox_and_webhook_within_60_s(contained):
    delivered, took_s, mails, hooks = contained["alert"]
    assert delivered and took_s < 60, f"alert not delivered within 60 s ({took_s:.0f} s)"
    assert any("short_handling" in str(m) and "bot.1" in str(m) for m in mails)
    (hook,) = [h for h in hooks if h.get("rule") == "short_handling"]
    assert hook["action"] == "suspend" and hook["agent"] == "bot.1"


def test_lookup_by_phone_names_the_scraper_for_every_record_it_took(contained):
    data_dir = contained["data_dir"]
    out = contained["root"] / "lookup-export.csv"
    cli(data_dir, "export", "--campaign", "Jesień", "--out", str(out), "--force")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        phone_of = {row["contact_ref"]: row["phone"].lstrip("'") for row in csv.DictReader(fh, delimiter=";")}
    db = sqlite3.connect(data_dir / "custos.db")
    try:
        query = "SELECT contact.ref FROM lease JOIN contact ON contact.id = lease.contact_id WHERE lease.id = ?"
        refs = [db.execute(query, (r["lease_id"],)).fetchone()[0] for r in contained["haul"].records]
    finally:
        db.close()
    assert len(refs) == 10
    for ref in refs:
        found = json.loads(cli(data_dir, "lookup", "--phone", phone_of[ref], "--json").stdout)
        (contact,) = [c for c in found["contacts"] if c["contact_ref"] == ref]
        issued = [e for e in contact["events"] if e["action"] == "record_issued"]
        assert [e["agent"] for e in issued] == ["bot.1"]
        assert issued[0]["outsourcer"] == "BPO One" and issued[0]["device"] and issued[0]["address"] == "127.0.0.1"


def test_a_forwarded_for_header_does_not_move_an_agent_inside_the_site_networks(contained):
    """Last in this module: it fences the outsourcer off the loopback the other tests use."""
    data_dir = contained["data_dir"]
    cli(data_dir, "outsourcer", "set-networks", "BPO One", "10.20.0.0/16")
    human = Scraper(contained["port"], data_dir / "tls" / "ca.pem")
    human.http.headers["X-Forwarded-For"] = "10.20.3.4"
    human.http.headers["X-Real-IP"] = "10.20.3.4"
    try:
        with pytest.raises(AssertionError, match="address_not_allowed"):
            human.enrol_and_login(contained["added"]["human.1"]["enrolment_code"], "human.1", AGENT_PASSWORD)
    finally:
        human.close()
    found = json.loads(cli(data_dir, "alerts", "list", "--json").stdout)["alerts"]
    assert any(a["rule"] == "outside_network" and a["agent"] == "human.1" for a in found)
