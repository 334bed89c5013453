"""The delivery worker on real databases: queue, back-off, redelivery after a receiver was down, two workers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from owner_server.audit.alerts import ack_alert, list_alerts, raise_alert
from owner_server.audit.delivery.mail import EmailSender
from owner_server.audit.delivery.queue import backoff
from owner_server.audit.delivery.syslog import SyslogSender
from owner_server.audit.delivery.webhook import WebhookSender
from owner_server.audit.delivery.worker import DeliveryWorker
from owner_server.core.alert_settings import AlertSettings, EmailChannel, SyslogChannel, WebhookChannel
from owner_server.core.db import make_engine, session_scope
from owner_server.models import AlertDelivery, User
from shared.containment import RuleAction, RuleName
from tests.support.receivers import (
    free_port,
    make_ca,
    smtp_receiver,
    syslog_udp_receiver,
    wait_for,
    webhook_receiver,
)

from ..helpers import seed

SECRET = "a-webhook-secret-of-32-bytes-abc"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def raise_one(inst, *, when: datetime, rule=RuleName.VELOCITY, login="agent1") -> str:
    with session_scope(inst.engine) as session:
        user = session.exec(select(User).where(User.login == login)).one()
        alert = raise_alert(
            session,
            rule=rule,
            action=RuleAction.SUSPEND,
            user=user,
            figures={"count": 31, "threshold": 30, "minutes": 10},
            now=when,
        )
        return alert.ref


def deliveries(inst, channel: str) -> list[AlertDelivery]:
    with session_scope(inst.engine) as session:
        return list(session.exec(select(AlertDelivery).where(AlertDelivery.channel == channel)).all())


def webhook_worker(engine, url: str, clock: Clock) -> tuple[DeliveryWorker, WebhookSender]:
    settings = AlertSettings(webhook=WebhookChannel(url=url, secret=SECRET, timeout_seconds=2))
    sender = WebhookSender(settings.webhook)
    return DeliveryWorker(engine, settings, organisation="Test Owner", channels=[sender], clock=clock), sender


def test_every_channel_gets_the_alert_once(any_installation, tmp_path):
    inst = any_installation
    seed(inst)
    ca = make_ca(tmp_path / "ca")
    clock = Clock(T0)
    ref = raise_one(inst, when=T0)
    with smtp_receiver(ca) as smtp, webhook_receiver(SECRET.encode()) as hook, syslog_udp_receiver() as sys:
        settings = AlertSettings(
            email=EmailChannel(
                host=smtp.host, port=smtp.port, sender="c@o.example", recipients=["s@o.example"], ca_file=ca.ca_file
            ),
            webhook=WebhookChannel(url=hook.url, secret=SECRET),
            syslog=SyslogChannel(host=sys.host, port=sys.port),
        )
        worker = DeliveryWorker(inst.engine, settings, organisation="Test Owner", clock=clock)
        assert [type(c) for c in worker.channels] == [EmailSender, WebhookSender, SyslogSender]
        for channel in worker.channels:
            done = worker.run_once(channel)
            assert (done.queued, done.sent, done.failed) == (1, 1, 0)
        clock.advance(60)
        for channel in worker.channels:  # nothing more to send
            done = worker.run_once(channel)
            assert (done.queued, done.sent, done.failed) == (0, 0, 0)
        assert wait_for(lambda: len(sys.messages) == 1 and len(smtp.messages) == 1, 10)
    assert [m["X-Custos-Alert"] for m in smtp.messages] == [ref]
    assert [b["ref"] for b in hook.received] == [ref]
    assert sys.messages[0].structured["custos@32473"]["agent"] == "agent1"
    with session_scope(inst.engine) as session:
        (view,) = list_alerts(session, open_only=True)
    assert view.ref == ref and view.agent == "agent1" and view.outsourcer == "BPO" and view.campaign is None
    assert {(d.channel, d.status, d.attempts) for d in view.deliveries} == {
        ("email", "sent", 1),
        ("webhook", "sent", 1),
        ("syslog", "sent", 1),
    }


def test_backoff_doubles_and_caps_at_five_minutes():
    assert [backoff(n).total_seconds() for n in range(1, 10)] == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert backoff(10_000) == timedelta(minutes=5)


def test_receiver_down_then_back_gets_every_alert_once(any_installation):
    inst = any_installation
    seed(inst)
    clock = Clock(T0)
    port = free_port()
    worker, sender = webhook_worker(inst.engine, f"http://127.0.0.1:{port}/hooks/custos", clock)
    first = raise_one(inst, when=T0)

    expected_waits = [5, 10, 20, 40, 80, 160, 300, 300]
    for attempt, wait in enumerate(expected_waits, start=1):
        done = worker.run_once(sender)
        assert (done.sent, done.failed) == (0, 1)
        (row,) = deliveries(inst, "webhook")
        assert row.status == "pending" and row.attempts == attempt
        assert row.next_attempt_at == clock.now + timedelta(seconds=wait)
        assert row.last_error == "ConnectError"
        clock.advance(wait - 1)
        assert worker.run_once(sender).failed == 0  # not due yet: no attempt
        clock.advance(1)

    # raised while the channel is down, long after the first: queued at once, sent when it is back
    second = raise_one(inst, when=clock.now, rule=RuleName.SHORT_HANDLING)
    with webhook_receiver(SECRET.encode(), port=port) as hook:
        done = worker.run_once(sender)
        assert (done.sent, done.failed) == (2, 0)
        clock.advance(600)
        assert worker.run_once(sender).sent == 0
    assert sorted(b["ref"] for b in hook.received) == sorted([first, second])
    rows = deliveries(inst, "webhook")
    assert {r.status for r in rows} == {"sent"} and all(r.last_error is None for r in rows)


def test_server_error_is_retried_and_an_acked_alert_is_still_delivered(any_installation):
    inst = any_installation
    seed(inst)
    clock = Clock(T0)
    ref = raise_one(inst, when=T0)
    with session_scope(inst.engine) as session:
        ack_alert(session, ref=ref, note="seen on the floor", actor="admin:test")
    with webhook_receiver(SECRET.encode()) as hook:
        worker, sender = webhook_worker(inst.engine, hook.url, clock)
        hook.status = 500
        assert worker.run_once(sender).failed == 1
        assert deliveries(inst, "webhook")[0].last_error == "HTTP 500"
        hook.status = 200
        clock.advance(5)
        assert worker.run_once(sender).sent == 1
    assert [b["ref"] for b in hook.received] == [ref]


def test_old_alerts_are_not_sent_to_a_newly_configured_channel(any_installation):
    inst = any_installation
    seed(inst)
    clock = Clock(T0)
    old = raise_one(inst, when=T0 - timedelta(days=400))
    day_old = raise_one(inst, when=T0 - timedelta(hours=25), rule=RuleName.OUTSIDE_HOURS)
    recent = raise_one(inst, when=T0 - timedelta(hours=23), rule=RuleName.SHORT_HANDLING)
    with webhook_receiver(SECRET.encode()) as hook:
        worker, sender = webhook_worker(inst.engine, hook.url, clock)
        assert worker.run_once(sender).sent == 1
    assert [b["ref"] for b in hook.received] == [recent]
    with session_scope(inst.engine) as session:
        views = {v.ref: v for v in list_alerts(session, open_only=False)}
    assert views[old].deliveries == [] and views[day_old].deliveries == []  # listed, never sent


def test_a_claimed_delivery_is_not_sent_again_by_another_worker(any_installation):
    """While one worker's send is in flight (outside any transaction), another finds nothing due."""
    inst = any_installation
    seed(inst)
    clock = Clock(T0)
    ref = raise_one(inst, when=T0)
    with webhook_receiver(SECRET.encode()) as hook:
        slow_worker, real = webhook_worker(inst.engine, hook.url, clock)
        entered, release = threading.Event(), threading.Event()

        class Slow:
            name = "webhook"
            config = real.config

            def send(self, message):
                entered.set()
                release.wait(10)
                real.send(message)

        slow_worker.channels = [Slow()]
        thread = threading.Thread(target=slow_worker.run_once, args=(slow_worker.channels[0],))
        thread.start()
        assert entered.wait(10)
        other, sender = webhook_worker(inst.engine, hook.url, clock)
        clock.advance(30)  # within the claim lease
        assert other.run_once(sender).sent == 0
        release.set()
        thread.join(10)
        clock.advance(120)
        assert other.run_once(sender).sent == 0
    assert [b["ref"] for b in hook.received] == [ref]


@pytest.mark.postgres
def test_two_workers_on_one_postgresql_send_each_alert_once(pg_cluster, tmp_path):
    from tests.conftest import _make_installation

    inst = _make_installation(tmp_path, pg_cluster.new_database())
    try:
        seed(inst)
        clock = Clock(T0)
        refs = [raise_one(inst, when=T0 + timedelta(milliseconds=i)) for i in range(45)]
        clock.advance(1)
        engines = [make_engine(inst.settings.effective_database_url) for _ in range(2)]
        with webhook_receiver(SECRET.encode()) as hook:
            workers = [webhook_worker(engine, hook.url, clock) for engine in engines]
            start = threading.Barrier(len(workers))
            errors: list[BaseException] = []

            def run(worker, sender) -> None:
                try:
                    start.wait(10)
                    for _ in range(6):
                        worker.run_once(sender)
                except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=pair) for pair in workers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert errors == []
        for engine in engines:
            engine.dispose()
        got = [b["ref"] for b in hook.received]
        assert sorted(got) == sorted(refs) and len(got) == len(set(got)) == 45
        rows = deliveries(inst, "webhook")
        assert len(rows) == 45 and {(r.status, r.attempts) for r in rows} == {("sent", 1)}
    finally:
        inst.close()


@pytest.mark.postgres
def test_claims_skip_rows_another_transaction_holds(pg_cluster, tmp_path):
    """Two claiming transactions at once on PostgreSQL: disjoint rows, and neither waits for the other."""
    from sqlmodel import Session

    from owner_server.audit.delivery import queue
    from tests.conftest import _make_installation

    inst = _make_installation(tmp_path, pg_cluster.new_database())
    other_engine = make_engine(inst.settings.effective_database_url)
    try:
        seed(inst)
        for i in range(30):
            raise_one(inst, when=T0 + timedelta(milliseconds=i))
        now = T0 + timedelta(seconds=1)
        with session_scope(inst.engine) as session:
            assert queue.enqueue(session, channel="webhook", now=now, backlog=timedelta(hours=24)) == 30
        lease = timedelta(minutes=1)
        with Session(inst.engine) as first:
            mine = queue.claim_due(first, channel="webhook", now=now, lease=lease, limit=20)
            got: list[list[queue.Claim]] = []

            def claim_other() -> None:
                with Session(other_engine) as second:
                    got.append(queue.claim_due(second, channel="webhook", now=now, lease=lease, limit=20))
                    second.commit()

            thread = threading.Thread(target=claim_other)
            thread.start()
            thread.join(10)
            assert not thread.is_alive(), "the second worker waited for the first one's locks"
            first.commit()
        theirs = got[0]
        assert len(mine) == 20 and len(theirs) == 10
        assert not {c.delivery_id for c in mine} & {c.delivery_id for c in theirs}
    finally:
        other_engine.dispose()
        inst.close()


def test_a_down_channel_is_tried_three_times_a_round_and_the_rest_wait_untried(any_installation):
    inst = any_installation
    seed(inst)
    clock = Clock(T0)
    port = free_port()
    worker, sender = webhook_worker(inst.engine, f"http://127.0.0.1:{port}/hooks/custos", clock)
    refs = [raise_one(inst, when=T0 + timedelta(milliseconds=i)) for i in range(5)]
    done = worker.run_once(sender)
    assert (done.sent, done.failed) == (0, 3)
    rows = sorted(deliveries(inst, "webhook"), key=lambda r: r.id)
    assert [r.attempts for r in rows] == [1, 1, 1, 0, 0]
    assert {r.next_attempt_at for r in rows} == {T0 + timedelta(seconds=5)}
    with webhook_receiver(SECRET.encode(), port=port) as hook:
        clock.advance(5)
        assert worker.run_once(sender).sent == 5
    assert sorted(b["ref"] for b in hook.received) == sorted(refs)


def test_one_message_a_receiver_refuses_does_not_hold_up_the_others(any_installation):
    inst = any_installation
    seed(inst)
    clock = Clock(T0)
    refs = [raise_one(inst, when=T0 + timedelta(milliseconds=i)) for i in range(4)]
    with webhook_receiver(SECRET.encode()) as hook:
        hook.fail_refs = {refs[0]}
        worker, sender = webhook_worker(inst.engine, hook.url, clock)
        done = worker.run_once(sender)
        assert (done.sent, done.failed) == (3, 1)
        for _ in range(3):  # raised later, while the refused one is retried
            clock.advance(400)
            refs.append(raise_one(inst, when=clock.now))
            assert worker.run_once(sender).sent == 1
        hook.fail_refs = set()
        clock.advance(400)
        assert worker.run_once(sender).sent == 1
    assert sorted(b["ref"] for b in hook.received) == sorted(refs)
    (refused,) = [r for r in deliveries(inst, "webhook") if r.attempts > 1]
    assert refused.attempts == 5 and refused.status == "sent"
