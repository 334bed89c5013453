from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QThreadPool

from agent_client.credentials import DeviceIdentity
from agent_client.messages import local_time_text
from agent_client.outcome import OutcomeDraft
from agent_client.service import AgentService
from shared.protocol import QuotaView
from tests.agent_client.agent_fakes import AGENT_LOGIN, ENROL_CODE, PASSWORD

TIMEOUT = 5000


@pytest.fixture
def service(qtbot, api):
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    agent_service = AgentService(api, pool=pool, retry_delays_ms=(50,), device_name="test-pc")
    yield agent_service
    agent_service.shutdown(TIMEOUT)  # stops its timers: none may fire into a later test


def login(qtbot, service):
    with qtbot.waitSignal(service.enrolled, timeout=TIMEOUT) as enrolled:
        service.enrol(ENROL_CODE)
    identity = enrolled.args[0]
    assert isinstance(identity, DeviceIdentity)
    with qtbot.waitSignal(service.logged_in, timeout=TIMEOUT) as logged_in:
        service.login(identity, AGENT_LOGIN, PASSWORD)
    return logged_in.args[0]


def test_enrol_login_and_next_record(qtbot, service):
    assert login(qtbot, service).agent_login == AGENT_LOGIN
    with qtbot.waitSignal(service.record_received, timeout=TIMEOUT) as received:
        service.request_next_record()
    record, retry, _idle = received.args
    assert record.lease_id == "lease-1"
    assert retry == 0


def test_no_record_carries_retry_hint(qtbot, service, fake_server):
    fake_server.records.clear()
    login(qtbot, service)
    with qtbot.waitSignal(service.record_received, timeout=TIMEOUT) as received:
        service.request_next_record()
    assert received.args == [None, 7, ""]


def test_disposition_recorded(qtbot, service, fake_server):
    login(qtbot, service)
    with qtbot.waitSignal(service.disposition_recorded, timeout=TIMEOUT):
        service.dispose(OutcomeDraft(lease_id="lease-1", code="sale"))
    assert fake_server.dispositions == [("lease-1", "sale")]


def test_failure_is_code_and_translated_message(qtbot, service):
    with qtbot.waitSignal(service.failed, timeout=TIMEOUT) as failed:
        service.enrol("wrong-code-0000")
    code, message = failed.args
    assert code == "enrolment_invalid"
    assert "enrolment code" in message


def test_display_events_are_delivered_in_order(qtbot, service, fake_server):
    login(qtbot, service)
    service.report_displayed("lease-1")
    service.report_hidden("lease-1", 1200)
    qtbot.waitUntil(lambda: service.pending_events == 0, timeout=TIMEOUT)
    events = sorted(fake_server.events.values(), key=lambda e: e.session_seq)
    assert [(e.kind, e.session_seq, e.duration_ms) for e in events] == [
        ("record_displayed", 0, None),
        ("record_hidden", 1, 1200),
    ]


def test_failed_upload_is_reported_and_retried(qtbot, service, fake_server):
    login(qtbot, service)
    fake_server.fail_events = 1
    with qtbot.waitSignal(service.reporting_failed, timeout=TIMEOUT) as failed:
        service.report_displayed("lease-1")
    assert failed.args[0] == "internal"
    with qtbot.waitSignal(service.events_delivered, timeout=TIMEOUT) as delivered:
        pass
    assert delivered.args == [1]
    assert len(fake_server.events) == 1


def test_focus_and_blocked_actions_share_the_event_queue(qtbot, service, fake_server):
    login(qtbot, service)
    service.report_displayed("lease-1")
    service.report_focus("lease-1", True)
    service.report_blocked("lease-1", "copy")
    service.report_focus("lease-1", False)
    service.report_hidden("lease-1", 900)
    qtbot.waitUntil(lambda: service.pending_events == 0, timeout=TIMEOUT)
    assert fake_server.kinds() == [
        ("record_displayed", None),
        ("focus_lost", None),
        ("action_blocked", "copy"),
        ("focus_regained", None),
        ("record_hidden", None),
    ]
    assert sorted(e.session_seq for e in fake_server.events.values()) == [0, 1, 2, 3, 4]


def test_blocked_action_upload_is_retried(qtbot, service, fake_server):
    login(qtbot, service)
    fake_server.fail_events = 1
    with qtbot.waitSignal(service.reporting_failed, timeout=TIMEOUT):
        service.report_blocked("lease-1", "capture")
    qtbot.waitUntil(lambda: service.pending_events == 0, timeout=TIMEOUT)
    assert fake_server.kinds() == [("action_blocked", "capture")]


def test_unknown_blocked_action_is_refused_locally(service):
    with pytest.raises(ValueError, match="paste"):
        service.report_blocked("lease-1", "paste")
    assert service.pending_events == 0


def test_next_reports_the_quota_before_the_record(qtbot, service, fake_server):
    login(qtbot, service)
    order = []
    service.quota_received.connect(lambda quota: order.append(("quota", quota)))
    service.record_received.connect(lambda record, _retry: order.append(("record", record.lease_id)))
    with qtbot.waitSignal(service.record_received, timeout=TIMEOUT):
        service.request_next_record()
    assert order == [
        ("quota", QuotaView(issued_hour=23, per_hour=60, issued_day=131, per_day=480)),
        ("record", "lease-1"),
    ]


def test_quota_reached_is_a_limit_with_its_time_not_a_failure(qtbot, service, fake_server):
    login(qtbot, service)
    fake_server.limit_until = datetime.now(UTC) + timedelta(minutes=20)
    with (
        qtbot.waitSignal(service.quota_received, timeout=TIMEOUT) as quota,
        qtbot.waitSignal(service.limit_reached, timeout=TIMEOUT) as reached,
        qtbot.assertNotEmitted(service.failed),
        qtbot.assertNotEmitted(service.record_received),
    ):
        service.request_next_record()
    assert quota.args[0].issued_hour == quota.args[0].per_hour == 60
    retry_at, message = reached.args
    assert retry_at == fake_server.limit_until
    assert message == f"Limit of 60 records an hour reached; next at {local_time_text(retry_at)}."


def test_withdrawn_record_is_its_own_signal(qtbot, service, fake_server):
    login(qtbot, service)
    fake_server.withdraw("lease-1")
    with (
        qtbot.waitSignal(service.record_withdrawn, timeout=TIMEOUT) as withdrawn,
        qtbot.assertNotEmitted(service.failed),
    ):
        service.dispose(OutcomeDraft(lease_id="lease-1", code="sale"))
    assert withdrawn.args == ["lease-1", "This record was withdrawn."]
    assert fake_server.dispositions == []


def test_suspension_is_a_failure_by_code(qtbot, service, fake_server):
    login(qtbot, service)
    fake_server.suspend()
    with qtbot.waitSignal(service.failed, timeout=TIMEOUT) as failed:
        service.request_next_record()
    assert failed.args == ["account_suspended", "Your account has been suspended. Contact your supervisor."]


# Issue 7: nothing the agent did is lost; the session outlives its access token.


def test_an_outcome_waits_in_the_outbox_until_the_server_takes_it_once(qtbot, service, fake_server):
    login(qtbot, service)
    fake_server.fail_dispositions = 2  # the server is in trouble for two tries
    counts = []
    service.pending_changed.connect(lambda o, e: counts.append((o, e)))
    with qtbot.waitSignal(service.disposition_recorded, timeout=TIMEOUT):
        service.dispose(OutcomeDraft(lease_id="lease-1", code="sale", notes="ring after six"))
    assert counts[0] == (1, 0) and counts[-1] == (0, 0)
    assert fake_server.dispositions == [("lease-1", "sale")]
    sent = fake_server.disposition_bodies
    assert len(sent) == 3 and len({b["outcome_id"] for b in sent}) == 1  # the same id every time
    assert {b["session_seq"] for b in sent} == {0} and sent[0]["notes"] == "ring after six"
    assert service.pending_outcomes == 0


def test_an_outcome_and_events_share_the_session_numbering(qtbot, service, fake_server):
    login(qtbot, service)
    service.report_displayed("lease-1")
    service.report_hidden("lease-1", 1000)
    with qtbot.waitSignal(service.disposition_recorded, timeout=TIMEOUT):
        service.dispose(OutcomeDraft(lease_id="lease-1", code="sale"))
    assert sorted(e.session_seq for e in fake_server.events.values()) == [0, 1]
    assert fake_server.disposition_bodies[0]["session_seq"] == 2


def test_a_note_too_long_is_refused_locally_and_nothing_waits(qtbot, service, fake_server):
    login(qtbot, service)
    with qtbot.waitSignal(service.failed, timeout=TIMEOUT) as failed:
        service.dispose(OutcomeDraft(lease_id="lease-1", code="sale", notes="x" * 501))
    assert failed.args[0] == "bad_request"
    assert service.pending_outcomes == 0 and fake_server.disposition_bodies == []


def test_no_lease_for_an_outcome_sent_before_is_delivered_or_withdrawn_not_a_new_withdrawal(
    qtbot, service, fake_server
):
    login(qtbot, service)
    service._outbox.add_outcome(OutcomeDraft(lease_id="lease-9", code="sale"))  # noqa: SLF001
    service._outbox.mark_sent(service._outbox.next_upload(batch=1).request.outcome_id)  # noqa: SLF001 - answer lost
    with qtbot.assertNotEmitted(service.record_withdrawn), qtbot.waitSignal(service.pending_changed, timeout=TIMEOUT):
        service.flush_events()
    qtbot.waitUntil(lambda: service.pending_outcomes == 0, timeout=TIMEOUT)


def test_an_expired_token_is_refreshed_once_and_the_request_retried(qtbot, service, fake_server):
    login(qtbot, service)
    fake_server.expired = True
    with qtbot.waitSignal(service.disposition_recorded, timeout=TIMEOUT), qtbot.assertNotEmitted(service.failed):
        service.dispose(OutcomeDraft(lease_id="lease-1", code="sale"))
    assert fake_server.refreshes == 1
    assert fake_server.dispositions == [("lease-1", "sale")]


def test_the_keepalive_refreshes_ahead_of_expiry(qtbot, api, fake_server):
    fake_server.token_ttl_s = 1  # refreshed after two thirds of a second
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    service = AgentService(api, pool=pool, retry_delays_ms=(50,), keepalive_ms=100, device_name="pc")
    login(qtbot, service)
    qtbot.waitUntil(lambda: fake_server.refreshes >= 2, timeout=TIMEOUT)
    assert not fake_server.expired and api.logged_in
    service.shutdown(TIMEOUT)


def test_a_refused_refresh_ends_the_session_with_its_code(qtbot, service, fake_server):
    login(qtbot, service)
    fake_server.expired = True
    fake_server.used_refresh.add(fake_server.refresh_token)  # as if this token had been used elsewhere
    with qtbot.waitSignal(service.failed, timeout=TIMEOUT) as failed:
        service.request_next_record()
    assert failed.args[0] == "unauthorized"
    assert not service._api.logged_in  # noqa: SLF001 - both tokens forgotten
