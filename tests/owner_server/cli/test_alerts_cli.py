"""``custos-server alerts list/ack`` and the ``[alerts]`` settings: a real process for the main paths, in process
(CliRunner) for the table of bad inputs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from owner_server.audit.alerts import list_alerts, raise_alert
from owner_server.cli.main import build_app
from owner_server.core.datadir import init_data_dir, open_installation
from owner_server.core.db import session_scope
from owner_server.core.settings import load_settings
from owner_server.identity import admin
from owner_server.models import AuditEntry, Campaign
from owner_server.models._common import utcnow
from shared.containment import RuleAction, RuleName
from shared.errors import ValidationError
from tests.owner_server.helpers import POLICY


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUSTOS_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "owner_server", *args], capture_output=True, text=True, env=env, timeout=120
    )


def make_dir(path: Path) -> Path:
    init_data_dir(path, organisation="Test Owner", host_names=["127.0.0.1"], public_url="https://127.0.0.1:1")
    return path


@pytest.fixture(scope="module")
def alerts_dir(tmp_path_factory):
    """A data dir with two alerts: an older velocity suspension and a newer outside-hours alert."""
    path = make_dir(tmp_path_factory.mktemp("alerts") / "data")
    inst = open_installation(path)
    try:
        with session_scope(inst.engine) as session:
            admin.add_outsourcer(session, name="BPO One", actor="test")
            admin.create_campaign(session, name="Autumn", policy=POLICY, keys=inst.keys, actor="test")
            agent = admin.add_agent(
                session, login="anna.k", outsourcer="BPO One", campaign="Autumn", password=None, actor="test"
            ).user
            camp = session.exec(select(Campaign).where(Campaign.name == "Autumn")).one()
            raise_alert(
                session,
                rule=RuleName.VELOCITY,
                action=RuleAction.SUSPEND,
                user=agent,
                figures={"count": 31, "threshold": 30},
                campaign_id=camp.id,
                now=utcnow() - timedelta(minutes=5),
            )
            raise_alert(session, rule=RuleName.OUTSIDE_HOURS, action=RuleAction.ALERT, user=agent, figures={"hour": 23})
    finally:
        inst.close()
    return path


def listed(data_dir: Path, *extra: str) -> list[dict]:
    done = run(data_dir, "alerts", "list", "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["alerts"]


def views(data_dir: Path) -> dict[str, object]:
    inst = open_installation(data_dir)
    try:
        with session_scope(inst.engine) as session:
            return {v.rule: v for v in list_alerts(session, open_only=False)}
    finally:
        inst.close()


def test_list_shows_alerts_newest_first_with_names_and_figures(alerts_dir):
    alerts = listed(alerts_dir)
    assert [a["rule"] for a in alerts] == ["outside_hours", "velocity"]
    velocity = alerts[1]
    assert velocity["action"] == "suspend" and velocity["agent"] == "anna.k"
    assert velocity["outsourcer"] == "BPO One" and velocity["campaign"] == "Autumn"
    assert velocity["figures"] == {"count": 31, "threshold": 30}
    assert velocity["status"] == "open" and velocity["deliveries"] == [] and len(velocity["ref"]) == 32
    table = run(alerts_dir, "alerts", "list")
    assert table.returncode == 0 and velocity["ref"][:12] in table.stdout and "anna.k" in table.stdout


def test_ack_by_prefix_then_open_list_omits_it_and_audit_has_the_note_hash(alerts_dir):
    ref = views(alerts_dir)["velocity"].ref
    note = "Called the BPO; agent's badge withdrawn"
    done = run(alerts_dir, "alerts", "ack", ref[:12], "--note", note, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "acknowledged"
    assert [a["rule"] for a in listed(alerts_dir, "--open")] == ["outside_hours"]
    acked = views(alerts_dir)["velocity"]
    assert acked.ack_note == note and acked.acked_by == "admin:cli" and acked.acked_at is not None
    inst = open_installation(alerts_dir)
    try:
        with session_scope(inst.engine) as session:
            entry = session.exec(
                select(AuditEntry).where(AuditEntry.action == "alert_acknowledged").order_by(col(AuditEntry.seq).desc())
            ).first()
    finally:
        inst.close()
    assert entry is not None and entry.object_id == ref and "badge" not in entry.details
    assert json.loads(entry.details)["note_sha256"] == hashlib.sha256(note.encode()).hexdigest()

    again = run(alerts_dir, "alerts", "ack", ref, "--note", "twice")
    assert again.returncode == 2 and "already acknowledged" in again.stderr and "Traceback" not in again.stderr
    assert views(alerts_dir)["velocity"].ack_note == note


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("f" * 32, "--note", "fine"), "no alert"),
        (("xyz", "--note", "fine"), "hex digits"),
        (("abc", "--note", "fine"), "hex digits"),
        (("{ref}", "--note", ""), "the note must say"),
        (("{ref}", "--note", "   "), "the note must say"),
        (("{ref}", "--note", "x" * 501), "at most 500"),
        (("{ref}", "--note", "bad\x07bell"), "control characters"),
        (("{ref}",), "--note"),
    ],
)
def test_bad_ack_input_exits_2_and_changes_nothing(alerts_dir, monkeypatch, args, message):
    target = views(alerts_dir)["outside_hours"]
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(alerts_dir))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(build_app(), ["alerts", "ack", *(a.format(ref=target.ref) for a in args)])
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert views(alerts_dir)["outside_hours"].status == "open"


def test_empty_installation_lists_nothing(tmp_path, monkeypatch):
    path = make_dir(tmp_path / "data")
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(path))
    result = CliRunner().invoke(build_app(), ["alerts", "list", "--open"])
    assert result.exit_code == 0 and "no open alerts" in result.stdout
    result = CliRunner().invoke(build_app(), ["alerts", "list", "--json"])
    assert json.loads(result.stdout) == {"alerts": []}


def _with_section(text: str, section: str) -> str:
    """Replace init's [alerts] table with the test's."""
    kept, skipping = [], False
    for line in text.splitlines():
        if line.startswith("["):
            skipping = line.strip() == "[alerts]"
        if not skipping:
            kept.append(line)
    return "\n".join(kept) + "\n" + section


@pytest.fixture(scope="module")
def plain_dir(tmp_path_factory):
    path = make_dir(tmp_path_factory.mktemp("settings") / "data")
    text = (path / "settings.toml").read_text()
    assert "[alerts]" in text and "poll_seconds = 5.0" in text  # init writes the section with its defaults
    return path


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('[alerts.email]\nhost = "smtp.x"\nsender = "a@x"\nrecipients = []\n', "alerts.email.recipients"),
        ('[alerts.email]\nhost = "smtp.x"\nsender = "nobody"\nrecipients = ["b@x"]\n', "alerts.email.sender"),
        (
            '[alerts.email]\nhost = "smtp.x"\nsender = "a@x"\nrecipients = ["b@x"]\nusername = "u"\n',
            "username and password_env go together",
        ),
        ('[alerts.email]\nhost = "smtp x"\nsender = "a@x"\nrecipients = ["b@x"]\n', "alerts.email.host"),
        ('[alerts.webhook]\nurl = "ftp://x"\nsecret = "0123456789abcdef0123"\n', "alerts.webhook.url"),
        ('[alerts.webhook]\nurl = "https://x/h"\nsecret = "short"\n', "at least 16"),
        ('[alerts.webhook]\nurl = "https://x/h"\n', "exactly one of secret and secret_env"),
        ('[alerts.webhook]\nurl = "https://x/h"\nsecret_env = "NOT A NAME"\n', "environment variable name"),
        ('[alerts.syslog]\nhost = "siem"\ntransport = "tls"\n', "alerts.syslog.transport"),
        ('[alerts.syslog]\nhost = "siem"\nport = 0\n', "alerts.syslog.port"),
        ("[alerts]\npoll_seconds = 0\n", "alerts.poll_seconds"),
        ("[alerts]\ncolour = 1\n", "alerts.colour"),
    ],
)
def test_bad_alert_settings_are_one_clear_line(plain_dir, section, message):
    settings = plain_dir / "settings.toml"
    original = settings.read_text()
    settings.write_text(_with_section(original, section))
    try:
        with pytest.raises(ValidationError) as caught:
            load_settings(plain_dir)
    finally:
        settings.write_text(original)
    assert message in caught.value.message and "\n" not in caught.value.message, caught.value.message


def test_bad_alert_settings_stop_a_command_with_exit_2(tmp_path):
    path = make_dir(tmp_path / "data")
    settings = path / "settings.toml"
    settings.write_text(_with_section(settings.read_text(), '[alerts.syslog]\nhost = "siem"\nport = 70000\n'))
    done = run(path, "alerts", "list")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "alerts.syslog.port" in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_good_alert_settings_load(plain_dir):
    settings = plain_dir / "settings.toml"
    original = settings.read_text()
    section = (
        '[alerts]\npoll_seconds = 2\n[alerts.email]\nhost = "smtp.x"\nsender = "a@x.example"\n'
        'recipients = ["b@x.example"]\n[alerts.webhook]\nurl = "https://x/h"\nsecret_env = "HOOK_SECRET"\n'
        '[alerts.syslog]\nhost = "siem"\ntransport = "tcp"\nport = 6514\n'
    )
    settings.write_text(_with_section(original, section))
    try:
        loaded = load_settings(plain_dir).alerts
    finally:
        settings.write_text(original)
    assert loaded.configured == ["email", "webhook", "syslog"] and loaded.poll_seconds == 2
    assert loaded.email is not None and loaded.email.port == 587
    assert load_settings(plain_dir).alerts.configured == []


def test_alerts_test_sends_to_each_channel_and_reports_failures(tmp_path, monkeypatch):
    from tests.support.receivers import free_port, webhook_receiver, write_alert_settings

    path = make_dir(tmp_path / "data")
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(path))
    runner, app = CliRunner(), build_app()
    none = runner.invoke(app, ["alerts", "test"])
    assert none.exit_code == 2 and "no alert channel is configured" in none.stderr

    with webhook_receiver(b"a-webhook-secret-of-32-bytes-abc") as hook:
        write_alert_settings(path, webhook=hook)
        settings = path / "settings.toml"
        port = free_port()
        settings.write_text(
            settings.read_text() + f'\n[alerts.syslog]\nhost = "127.0.0.1"\nport = {port}\ntransport = "tcp"\n'
        )
        result = runner.invoke(app, ["alerts", "test", "--json"])
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["channels"]["webhook"] == {"ok": True, "error": None}
    assert report["channels"]["syslog"]["ok"] is False
    assert report["channels"]["syslog"]["error"].startswith("ConnectionRefusedError")
    assert [b["rule"] for b in hook.received] == ["test"] and hook.received[0]["ref"] == report["ref"]
    assert views(path) == {}  # a test message is no alert
    inst = open_installation(path)
    try:
        with session_scope(inst.engine) as session:
            entry = session.exec(select(AuditEntry).where(AuditEntry.action == "alert_channels_tested")).one()
    finally:
        inst.close()
    assert json.loads(entry.details)["webhook"] == "sent"
