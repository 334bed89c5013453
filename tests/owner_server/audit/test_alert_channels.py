"""Each alert channel against a real local receiver: SMTP with STARTTLS, signed webhook, syslog UDP/TCP."""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime

import httpx
import pytest

from owner_server.audit.delivery.errors import DeliveryError, safe_reason
from owner_server.audit.delivery.mail import EmailSender
from owner_server.audit.delivery.message import AlertMessage, _clean_figures
from owner_server.audit.delivery.syslog import SyslogSender
from owner_server.audit.delivery.webhook import WebhookSender, sign
from owner_server.core.alert_settings import EmailChannel, SyslogChannel, WebhookChannel
from tests.support.receivers import (
    free_port,
    make_ca,
    parse_rfc5424,
    smtp_receiver,
    syslog_tcp_receiver,
    syslog_udp_receiver,
    wait_for,
    webhook_receiver,
)

SECRET = b"a-webhook-secret-of-32-bytes-abc"


def message(**overrides) -> AlertMessage:
    values = {
        "ref": "0123456789abcdef0123456789abcdef",
        "rule": "velocity",
        "action": "suspend",
        "agent": "anna.k",
        "outsourcer": "BPO One",
        "campaign": "Jesień",
        "raised_at": datetime(2026, 12, 1, 14, 30, 5, tzinfo=UTC),
        "organisation": "Test Owner",
        "figures": {"count": 31, "threshold": 30, "minutes": 10},
    }
    values.update(overrides)
    return AlertMessage(**values)


@pytest.fixture
def ca(tmp_path):
    return make_ca(tmp_path / "ca")


def email_config(smtp, ca, **overrides) -> EmailChannel:
    values = {
        "host": smtp.host,
        "port": smtp.port,
        "sender": "custos@owner.example",
        "recipients": ["security@owner.example", "dpo@owner.example"],
        "ca_file": str(ca.ca_file),
        "timeout_seconds": 5,
    }
    values.update(overrides)
    return EmailChannel.model_validate(values)


def test_email_goes_over_starttls_with_login_and_carries_the_alert(ca, monkeypatch):
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "smtp-pass-1")
    with smtp_receiver(ca, login=("custos", "smtp-pass-1")) as smtp:
        cfg = email_config(smtp, ca, username="custos", password_env="TEST_SMTP_PASSWORD")
        EmailSender(cfg).send(message())
        assert wait_for(lambda: smtp.messages, 10)
    mail = smtp.messages[0]
    assert smtp.tls_sessions == [True] and smtp.logins == ["custos"]
    assert mail["Subject"] == "[Custos] velocity (suspend): agent anna.k, BPO One, campaign Jesień"
    assert mail["X-Custos-Alert"] == "0123456789abcdef0123456789abcdef"
    assert mail["To"] == "security@owner.example, dpo@owner.example"
    body = mail.get_content()
    for text in ("0123456789abcdef0123456789abcdef", "velocity", "suspend", "anna.k", "BPO One", "Jesień", "count: 31"):
        assert text in body
    assert "2026-12-01T14:30:05" in body


def test_email_refuses_an_untrusted_certificate(ca, tmp_path):
    other = make_ca(tmp_path / "other")
    with smtp_receiver(ca) as smtp:
        sender = EmailSender(email_config(smtp, other))
        with pytest.raises(ssl.SSLCertVerificationError) as caught:
            sender.send(message())
    assert smtp.messages == [] and safe_reason(caught.value) == "TLS SSLCertVerificationError"


def test_email_wrong_password_is_an_smtp_code_not_the_servers_text(ca, monkeypatch):
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
    with smtp_receiver(ca, login=("custos", "smtp-pass-1")) as smtp:
        sender = EmailSender(email_config(smtp, ca, username="custos", password_env="TEST_SMTP_PASSWORD"))
        with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
            sender.send(message())
    assert smtp.messages == [] and safe_reason(caught.value) == "SMTP 535"


def test_email_unset_password_variable_is_a_clear_failure(ca, monkeypatch):
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    with smtp_receiver(ca) as smtp:
        sender = EmailSender(email_config(smtp, ca, username="custos", password_env="TEST_SMTP_PASSWORD"))
        with pytest.raises(DeliveryError, match="TEST_SMTP_PASSWORD"):
            sender.send(message())


def test_email_to_a_closed_port_fails():
    cfg = EmailChannel(host="127.0.0.1", port=free_port(), sender="a@b.example", recipients=["c@d.example"])
    with pytest.raises(ConnectionRefusedError) as caught:
        EmailSender(cfg).send(message())
    assert safe_reason(caught.value).startswith("ConnectionRefusedError")


def test_webhook_posts_signed_json_the_receiver_verifies():
    with webhook_receiver(SECRET) as hook:
        WebhookSender(WebhookChannel(url=hook.url, secret=SECRET.decode())).send(message())
    assert hook.rejected == 0 and len(hook.received) == 1
    body = hook.received[0]
    assert body == {
        "type": "custos.alert",
        "version": 1,
        "ref": "0123456789abcdef0123456789abcdef",
        "rule": "velocity",
        "action": "suspend",
        "agent": "anna.k",
        "outsourcer": "BPO One",
        "campaign": "Jesień",
        "figures": {"count": 31, "minutes": 10, "threshold": 30},
        "raised_at": "2026-12-01T14:30:05+00:00",
        "organisation": "Test Owner",
    }
    assert hook.headers[0]["X-Custos-Alert"] == body["ref"]
    assert hook.headers[0]["X-Custos-Signature"].startswith("sha256=")


def test_webhook_secret_from_the_environment(monkeypatch):
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET.decode())
    with webhook_receiver(SECRET) as hook:
        WebhookSender(WebhookChannel(url=hook.url, secret_env="TEST_HOOK_SECRET")).send(message())
    assert len(hook.received) == 1


def test_webhook_with_a_wrong_secret_is_rejected_and_reported():
    with webhook_receiver(SECRET) as hook:
        sender = WebhookSender(WebhookChannel(url=hook.url, secret="another-secret-of-enough-length"))
        with pytest.raises(DeliveryError, match="HTTP 401"):
            sender.send(message())
    assert hook.received == [] and hook.rejected == 1


def test_webhook_server_error_is_a_failure_to_retry():
    with webhook_receiver(SECRET) as hook:
        hook.status = 503
        with pytest.raises(DeliveryError, match="HTTP 503"):
            WebhookSender(WebhookChannel(url=hook.url, secret=SECRET.decode())).send(message())


def test_webhook_to_a_closed_port_fails():
    sender = WebhookSender(WebhookChannel(url=f"http://127.0.0.1:{free_port()}/x", secret=SECRET.decode()))
    with pytest.raises(httpx.ConnectError):
        sender.send(message())


def test_signature_covers_timestamp_and_exact_body():
    base = sign(SECRET, "1700000000", b'{"a":1}')
    assert base != sign(SECRET, "1700000001", b'{"a":1}')
    assert base != sign(SECRET, "1700000000", b'{"a": 1}')
    assert base != sign(b"x" * 32, "1700000000", b'{"a":1}')


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_syslog_sends_an_rfc5424_message_with_structured_data(transport):
    receiver_cm = syslog_udp_receiver() if transport == "udp" else syslog_tcp_receiver()
    with receiver_cm as collector:
        cfg = SyslogChannel(host=collector.host, port=collector.port, transport=transport, hostname="owner-host")
        sender = SyslogSender(cfg)
        sender.send(message())
        sender.send(message(action="alert", rule="outside_hours", outsourcer='BPO "Two" [x]', figures={}))
        assert wait_for(lambda: len(collector.messages) == 2, 10)
    first, second = collector.messages
    assert (first.facility, first.severity, first.version) == (4, 2, 1)
    assert (first.hostname, first.app_name, first.msgid) == ("owner-host", "custos", "alert")
    assert first.timestamp == "2026-12-01T14:30:05.000000Z"
    assert first.structured["custos@32473"] == {
        "ref": "0123456789abcdef0123456789abcdef",
        "rule": "velocity",
        "action": "suspend",
        "agent": "anna.k",
        "outsourcer": "BPO One",
        "campaign": "Jesień",
    }
    assert first.structured["figures@32473"] == {"count": "31", "minutes": "10", "threshold": "30"}
    assert first.had_bom and first.msg == "velocity (suspend): agent anna.k, BPO One, campaign Jesień"
    assert second.severity == 4 and second.structured["custos@32473"]["outsourcer"] == 'BPO "Two" [x]'
    assert "figures@32473" not in second.structured


def test_syslog_tcp_to_a_closed_port_fails():
    cfg = SyslogChannel(host="127.0.0.1", port=free_port(), transport="tcp")
    with pytest.raises(ConnectionRefusedError):
        SyslogSender(cfg).send(message())


def test_parser_refuses_what_is_not_rfc5424():
    with pytest.raises(ValueError):
        parse_rfc5424(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed")


def test_figures_keep_only_scalar_counts_under_identifier_keys():
    cleaned = _clean_figures(
        {"count": 3, "Name": "Jan", "nested": {"a": 1}, "note": "x" * 200, "ok": True, "ratio": 0.5, "a b": 1}
    )
    assert cleaned == {"count": 3, "note": "x" * 64, "ok": True, "ratio": 0.5}
