"""A live ``custos-server serve`` delivers an alert to SMTP (STARTTLS), the webhook and syslog within 60 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlmodel import select

from owner_server.audit.alerts import raise_alert
from owner_server.core.datadir import init_data_dir, open_installation
from owner_server.core.db import session_scope
from owner_server.identity import admin
from owner_server.models import User
from shared.containment import RuleAction, RuleName
from tests.owner_server.helpers import POLICY
from tests.support.receivers import (
    free_port,
    make_ca,
    smtp_receiver,
    syslog_tcp_receiver,
    wait_for,
    webhook_receiver,
    write_alert_settings,
)

from .conftest import _wait_tls

pytestmark = pytest.mark.e2e
SECRET = b"e2e-webhook-secret-0123456789abcdef"


def _data_dir(tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    init_data_dir(
        data_dir, organisation="E2E Telecom", host_names=["127.0.0.1"], public_url=f"https://127.0.0.1:{port}"
    )
    inst = open_installation(data_dir)
    try:
        with session_scope(inst.engine) as session:
            admin.add_outsourcer(session, name="BPO One", actor="test")
            admin.create_campaign(session, name="Autumn", policy=POLICY, keys=inst.keys, actor="test")
            admin.add_agent(
                session, login="anna.k", outsourcer="BPO One", campaign="Autumn", password=None, actor="test"
            )
    finally:
        inst.close()
    return data_dir, port


def _serve(data_dir, port, log_path, env=None):
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "owner_server", "serve", "--data-dir", str(data_dir), "--port", str(port)]
        + ["--console-port", "0"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    return proc, log


def _stop(proc, log):
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = None
    log.close()
    return code


def test_live_server_delivers_an_alert_to_every_channel_within_60_s(tmp_path):
    data_dir, port = _data_dir(tmp_path)
    ca = make_ca(tmp_path / "receivers-ca")
    login = ("custos", "e2e-smtp-password")
    with (
        smtp_receiver(ca, login=login) as smtp,
        webhook_receiver(SECRET) as hook,
        syslog_tcp_receiver() as collector,
    ):
        env = write_alert_settings(
            data_dir, ca=ca, smtp=smtp, smtp_login=login, webhook=hook, syslog=collector, poll_seconds=5
        )
        log_path = tmp_path / "server.log"
        proc, log = _serve(data_dir, port, log_path, env)
        try:
            _wait_tls(port, data_dir / "tls" / "ca.pem", proc)
            inst = open_installation(data_dir)  # the same database, written through the services
            try:
                with session_scope(inst.engine) as session:
                    agent = session.exec(select(User).where(User.login == "anna.k")).one()
                    ref = raise_alert(
                        session,
                        rule=RuleName.VELOCITY,
                        action=RuleAction.SUSPEND,
                        user=agent,
                        figures={"count": 31, "threshold": 30, "minutes": 10},
                    ).ref
            finally:
                inst.close()
            raised = time.monotonic()
            assert wait_for(lambda: smtp.messages and hook.received and collector.messages, timeout=60)
            elapsed = time.monotonic() - raised
        finally:
            code = _stop(proc, log)
    assert elapsed < 60
    assert [m["X-Custos-Alert"] for m in smtp.messages] == [ref] and smtp.tls_sessions == [True]
    assert smtp.logins == ["custos"] and "anna.k" in smtp.messages[0]["Subject"]
    assert [b["ref"] for b in hook.received] == [ref] and hook.rejected == 0
    assert hook.received[0]["agent"] == "anna.k" and hook.received[0]["outsourcer"] == "BPO One"
    assert collector.messages[0].structured["custos@32473"]["ref"] == ref
    text = log_path.read_text()
    assert "alerts: delivering to email, webhook, syslog" in text and "Traceback" not in text
    assert code == 0


def test_live_server_without_channels_says_so_once(tmp_path):
    data_dir, port = _data_dir(tmp_path)
    log_path = tmp_path / "server.log"
    proc, log = _serve(data_dir, port, log_path)
    try:
        _wait_tls(port, data_dir / "tls" / "ca.pem", proc)
    finally:
        code = _stop(proc, log)
    text = log_path.read_text()
    assert text.count("alerts are stored and listed only") == 1 and code == 0
