"""A JSON POST signed with HMAC-SHA256 over the timestamp and the exact body.

Headers::

    Content-Type: application/json
    X-Custos-Alert: <alert ref>                 (de-duplicate on it: delivery is at least once)
    X-Custos-Timestamp: <unix seconds>
    X-Custos-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body
bytes, compares in constant time, and refuses timestamps far from its clock
(replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import time

import httpx

from owner_server.audit.delivery.errors import DeliveryError
from owner_server.audit.delivery.message import AlertMessage
from owner_server.core.alert_settings import WebhookChannel

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "WebhookSender", "sign"]

SIGNATURE_HEADER = "X-Custos-Signature"
TIMESTAMP_HEADER = "X-Custos-Timestamp"


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body``.

    Args:
        key: The shared secret.
        timestamp: Unix seconds as sent in ``X-Custos-Timestamp``.
        body: The exact request body.
    """
    digest = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookSender:
    """Posts alerts to the configured URL; any answer but 2xx is a failure (retried).

    Args:
        config: The ``[alerts.webhook]`` settings.
    """

    name = "webhook"

    def __init__(self, config: WebhookChannel) -> None:
        self.config = config
        self._tls = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)

    def send(self, message: AlertMessage) -> None:
        """Deliver one alert.

        Raises:
            DeliveryError: The secret is missing, or the receiver answered other than 2xx.
            httpx.HTTPError: The network failed.
        """
        try:
            key = self.config.key()
        except ValueError as exc:
            raise DeliveryError(str(exc)) from None
        body = json.dumps(message.as_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "custos-alerts/1",
            "X-Custos-Alert": message.ref,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(key, stamp, body),
        }
        with httpx.Client(verify=self._tls, timeout=self.config.timeout_seconds, follow_redirects=False) as client:
            response = client.post(self.config.url, content=body, headers=headers)
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"HTTP {response.status_code}")
