import httpx
import pytest

from agent_client.api import AgentApi
from agent_client.credentials import DeviceIdentity, new_device_key, public_key_b64
from agent_client.errors import ApiError, NetworkError, ProtocolError
from shared.errors import ErrorCode
from shared.protocol import BlockedAction, DisplayEvent, DisplayEventKind, DispositionRequest
from tests.agent_client.agent_fakes import AGENT_LOGIN, BASE_URL, ENROL_CODE, PASSWORD


def enrol_and_login(api, password=PASSWORD):
    key = new_device_key()
    enrolled = api.enrol(enrolment_code=ENROL_CODE, public_key_b64=public_key_b64(key), device_name="pc-1")
    identity = DeviceIdentity(enrolled.device_id, enrolled.login, key)
    return identity, api.login(identity, login=AGENT_LOGIN, password=password)


def test_login_signature_verifies_with_enrolled_public_key(api, fake_server):
    identity, response = enrol_and_login(api)
    assert response.agent_login == AGENT_LOGIN
    assert api.logged_in
    assert fake_server.public_key.public_bytes_raw() == identity.private_key.public_key().public_bytes_raw()


def test_signature_from_another_key_is_refused(api, fake_server):
    identity, _ = enrol_and_login(api)
    impostor = DeviceIdentity(identity.device_id, identity.login, new_device_key())
    with pytest.raises(ApiError) as caught:
        api.login(impostor, login=AGENT_LOGIN, password=PASSWORD)
    assert caught.value.code is ErrorCode.BAD_SIGNATURE
    assert not api.logged_in


def test_error_body_maps_to_code(api):
    with pytest.raises(ApiError) as caught:
        enrol_and_login(api, password="wrong")
    assert caught.value.code is ErrorCode.UNAUTHORIZED
    assert caught.value.status == 401


def test_used_enrolment_code_is_refused(api):
    enrol_and_login(api)
    with pytest.raises(ApiError) as caught:
        api.enrol(enrolment_code=ENROL_CODE, public_key_b64=public_key_b64(new_device_key()), device_name="pc-2")
    assert caught.value.code is ErrorCode.ENROLMENT_INVALID


def test_bearer_token_is_sent_and_record_parsed(api, fake_server):
    _, response = enrol_and_login(api)
    record = api.next_record().record
    assert record is not None and record.lease_id == "lease-1"
    assert fake_server.requests[-1] == ("next", f"Bearer {response.access_token}")
    assert api.dispose(DispositionRequest(lease_id="lease-1", code="sale")).lease_id == "lease-1"
    assert api.next_record().record.lease_id == "lease-2"


def test_calls_without_login_are_refused_locally(api, fake_server):
    with pytest.raises(ApiError) as caught:
        api.next_record()
    assert caught.value.code is ErrorCode.UNAUTHORIZED
    assert fake_server.requests == []


def test_events_are_sent(api, fake_server):
    enrol_and_login(api)
    event = DisplayEvent(
        event_id="e1",
        kind=DisplayEventKind.RECORD_DISPLAYED,
        lease_id="lease-1",
        occurred_at="2024-01-01T00:00:00Z",
        session_seq=0,
    )
    assert api.send_events((event,)).accepted == 1
    assert api.send_events((event,)).duplicates == 1


def test_only_blocked_actions_carry_a_detail_on_the_wire(api, fake_server):
    """Older kinds go out exactly as before, so a server without ``detail`` accepts them."""
    enrol_and_login(api)
    common = {"lease_id": "lease-1", "occurred_at": "2024-01-01T00:00:00Z"}
    events = (
        DisplayEvent(event_id="e1", kind=DisplayEventKind.RECORD_DISPLAYED, session_seq=0, **common),
        DisplayEvent(event_id="e2", kind=DisplayEventKind.FOCUS_LOST, session_seq=1, **common),
        DisplayEvent(
            event_id="e3", kind=DisplayEventKind.ACTION_BLOCKED, session_seq=2, detail=BlockedAction.COPY, **common
        ),
    )
    assert api.send_events(events).accepted == 3
    assert [body.get("detail", "absent") for body in fake_server.event_bodies] == ["absent", "absent", "copy"]
    assert fake_server.kinds() == [("record_displayed", None), ("focus_lost", None), ("action_blocked", "copy")]


def test_every_response_body_is_seen_by_the_hook(api, bodies):
    enrol_and_login(api)
    api.next_record()
    assert len(bodies) == 4
    assert b"Zofia" in bodies[-1]


@pytest.mark.parametrize("declare_length", [True, False])
def test_oversized_response_is_rejected(declare_length):
    big = b'{"nonce": "' + b"a" * 2048 + b'", "expires_in_s": 60}'

    def handler(request):
        if declare_length:
            return httpx.Response(200, content=big)
        return httpx.Response(200, content=iter([big[:1000], big[1000:]]))

    api = AgentApi(BASE_URL, transport=httpx.MockTransport(handler), max_response_bytes=1024)
    identity = DeviceIdentity("dev-1", AGENT_LOGIN, new_device_key())
    with pytest.raises(ProtocolError, match="larger"):
        api.login(identity, login=AGENT_LOGIN, password=PASSWORD)


@pytest.mark.parametrize(
    ("status", "content"), [(502, b"<html>bad gateway</html>"), (200, b'{"record": null, "extra": 1}')]
)
def test_malformed_responses_are_protocol_errors(status, content):
    api = AgentApi(BASE_URL, transport=httpx.MockTransport(lambda request: httpx.Response(status, content=content)))
    with pytest.raises(ProtocolError):
        api.enrol(enrolment_code=ENROL_CODE, public_key_b64=public_key_b64(new_device_key()), device_name="pc")


def test_connection_failure_is_network_error():
    def handler(request):
        raise httpx.ConnectError("refused", request=request)

    api = AgentApi(BASE_URL, transport=httpx.MockTransport(handler))
    with pytest.raises(NetworkError):
        api.enrol(enrolment_code=ENROL_CODE, public_key_b64=public_key_b64(new_device_key()), device_name="pc")


def test_tls_context_is_required():
    with pytest.raises(ValueError, match="ssl_context"):
        AgentApi(BASE_URL)


def test_a_refresh_that_cannot_reach_the_server_leaves_the_live_token_in_use(fake_server):
    clock = [0.0]
    failing = {"refresh": 1}

    def handle(request):
        if request.url.path.endswith("/refresh") and failing["refresh"]:
            failing["refresh"] -= 1
            raise httpx.ConnectError("down")
        return fake_server.handle(request)

    api = AgentApi(BASE_URL, transport=httpx.MockTransport(handle), monotonic=lambda: clock[0])
    try:
        enrol_and_login(api)
        clock[0] = 700.0  # past two thirds of the 900 s token
        assert api.next_record().record is not None  # the refresh failed, the request went with the live token
        assert fake_server.refreshes == 0
        assert api.next_record().record is not None
        assert fake_server.refreshes == 1  # tried again before the next request, with the same refresh token
    finally:
        api.close()
