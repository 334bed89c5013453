"""Tell the owner server that the client refused to start (best effort, before any login).

One nonce from ``/nonce``, one signed :class:`shared.integrity.IntegrityReport`
to ``/integrity-reports``, through the deployment's pinned CA with short
timeouts; any failure is logged and forgotten (the refusal stands anyway).
"""

from __future__ import annotations

import logging

import httpx
from pydantic import ValidationError as PydanticValidationError

from agent_client.config import DeploymentConfig, build_ssl_context
from agent_client.credentials import DeviceIdentity
from agent_client.errors import ClientError
from shared.auth import NonceRequest, NonceResponse
from shared.integrity import IntegrityReason, IntegrityReport, integrity_challenge
from shared.protocol import b64encode
from shared.version import __version__

__all__ = ["REPORT_TIMEOUT", "send_integrity_report"]

log = logging.getLogger(__name__)

#: Timeouts of the report: a refused start should not hang on an unreachable server.
REPORT_TIMEOUT = httpx.Timeout(3.0, connect=2.0)
_MAX_NONCE_BYTES = 4096


def send_integrity_report(
    config: DeploymentConfig,
    identity: DeviceIdentity,
    reason: IntegrityReason,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: httpx.Timeout = REPORT_TIMEOUT,
) -> bool:
    """Report a refused start to the server, signed with the device key.

    Args:
        config: The deployment (server URL and the pinned CA).
        identity: The enrolled device.
        reason: Why the client refused to start.
        transport: An httpx transport instead of the network (tests).
        timeout: Request timeouts.

    Returns:
        True when the server accepted the report (204); False on any failure.
    """
    try:
        verify = build_ssl_context(config.ca_certificate)
        with httpx.Client(
            base_url=config.api_base_url,
            verify=verify,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": f"custos-agent/{__version__}"},
        ) as client:
            answer = client.post("nonce", json=NonceRequest(device_id=identity.device_id).model_dump())
            if answer.status_code != 200 or len(answer.content) > _MAX_NONCE_BYTES:
                log.info("integrity report: no nonce (status %d)", answer.status_code)
                return False
            nonce = NonceResponse.model_validate_json(answer.content).nonce
            message = integrity_challenge(
                device_id=identity.device_id, nonce=nonce, reason=reason, client_version=__version__
            )
            report = IntegrityReport(
                device_id=identity.device_id,
                nonce=nonce,
                reason=reason,
                client_version=__version__,
                signature=b64encode(identity.sign(message)),
            )
            done = client.post("integrity-reports", json=report.model_dump(mode="json"))
    except (httpx.HTTPError, PydanticValidationError, ClientError) as exc:
        log.info("integrity report not sent: %s", type(exc).__name__)
        return False
    log.info("integrity report: server answered %d", done.status_code)
    return done.status_code == 204
