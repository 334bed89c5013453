"""The best-effort report of a refused start: what it sends, and that any failure is only a False."""

from __future__ import annotations

import json
import socket

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent_client.config import DeploymentConfig
from agent_client.credentials import DeviceIdentity
from agent_client.integrity_report import send_integrity_report
from shared.integrity import IntegrityReason, integrity_challenge
from shared.protocol import b64decode_strict
from shared.version import __version__


def _identity() -> DeviceIdentity:
    return DeviceIdentity(device_id="dev-1", login="anna.k", private_key=Ed25519PrivateKey.generate())


def test_the_report_is_signed_over_a_fresh_nonce(ca_pem):
    identity, sent = _identity(), []

    def server(request: httpx.Request) -> httpx.Response:
        sent.append((request.url.path, json.loads(request.content)))
        if request.url.path.endswith("/nonce"):
            return httpx.Response(200, json={"nonce": "n-123", "expires_in_s": 60})
        return httpx.Response(204)

    config = DeploymentConfig(server_url="https://owner.example:8443", organisation="O", ca_certificate=ca_pem)
    assert send_integrity_report(config, identity, IntegrityReason.PYTHON_TRACER, transport=httpx.MockTransport(server))
    (nonce_path, nonce_body), (path, body) = sent
    assert nonce_path == "/api/v1/agent/nonce" and nonce_body == {"device_id": "dev-1"}
    assert path == "/api/v1/agent/integrity-reports"
    assert (body["reason"], body["nonce"], body["client_version"]) == ("python_tracer", "n-123", __version__)
    message = integrity_challenge(
        device_id="dev-1", nonce="n-123", reason=IntegrityReason.PYTHON_TRACER, client_version=__version__
    )
    identity.private_key.public_key().verify(b64decode_strict(body["signature"], expected_len=64), message)


def test_a_refusal_or_an_unreachable_server_is_only_a_false(ca_pem):
    refusing = httpx.MockTransport(lambda request: httpx.Response(401, json={"code": "unauthorized"}))
    config = DeploymentConfig(server_url="https://owner.example:8443", organisation="O", ca_certificate=ca_pem)
    assert not send_integrity_report(config, _identity(), IntegrityReason.DEBUGGER_ATTACHED, transport=refusing)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        closed = DeploymentConfig(server_url=f"https://127.0.0.1:{port}", organisation="O", ca_certificate=ca_pem)
        assert not send_integrity_report(closed, _identity(), IntegrityReason.DEBUGGER_ATTACHED)
