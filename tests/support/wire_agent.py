"""An agent written from the wire protocol (httpx, its own Ed25519 device key): enrol, log in, claim, dispose.

Used by the several-process tests and by ``bench/https_bench.py``; it trusts
only the installation's CA, as the real client does.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.auth import login_challenge
from shared.protocol import b64encode

__all__ = ["API", "WireAgent", "login_body", "tls_context"]

API = "/api/v1/agent"


def tls_context(ca: Path) -> ssl.SSLContext:
    """A client TLS context trusting only ``ca``."""
    return ssl.create_default_context(cafile=str(ca))


def login_body(key: Ed25519PrivateKey, *, login: str, password: str, device_id: str, nonce: str) -> dict[str, str]:
    """The ``/login`` body: the password and the device key's signature of the challenge."""
    signature = b64encode(key.sign(login_challenge(login=login, device_id=device_id, nonce=nonce)))
    return {"login": login, "password": password, "device_id": device_id, "nonce": nonce, "signature": signature}


def public_key_b64(key: Ed25519PrivateKey) -> str:
    """The device key's raw public key, base64."""
    return b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


class WireAgent:
    """One agent on one or more server URLs (a load balancer's view: any request may go to any of them).

    Args:
        urls: Base URLs, e.g. ``https://127.0.0.1:8443``.
        ca: The installation's CA certificate.
    """

    def __init__(self, urls: list[str], ca: Path) -> None:
        tls = tls_context(ca)
        self.clients = [httpx.Client(base_url=url, verify=tls, timeout=60) for url in urls]
        self.key = Ed25519PrivateKey.generate()
        self.token = ""
        self.device_id = ""
        self._turn = 0

    def post(self, path: str, body: dict[str, Any], *, via: int | None = None) -> httpx.Response:
        """POST to the next server in turn (or to ``via``), with the token once logged in."""
        if via is None:
            via, self._turn = self._turn % len(self.clients), self._turn + 1
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return self.clients[via].post(API + path, json=body, headers=headers)

    def get(self, path: str, *, via: int | None = None) -> httpx.Response:
        """GET from the next server in turn (or from ``via``), with the token."""
        if via is None:
            via, self._turn = self._turn % len(self.clients), self._turn + 1
        return self.clients[via].get(API + path, headers={"Authorization": f"Bearer {self.token}"})

    def enrol(self, code: str) -> None:
        """Enrol this agent's device key with its one-time code."""
        body = {"enrolment_code": code, "device_public_key": public_key_b64(self.key), "device_name": "wire"}
        answer = self.post("/enrol", body)
        assert answer.status_code == 200, answer.text
        self.device_id = answer.json()["device_id"]

    def login(self, login: str, password: str) -> None:
        """Log in (nonce, then the signed challenge) and keep the token."""
        nonce = self.post("/nonce", {"device_id": self.device_id}).json()["nonce"]
        answer = self.post(
            "/login", login_body(self.key, login=login, password=password, device_id=self.device_id, nonce=nonce)
        )
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]

    def claim(self, *, via: int | None = None) -> tuple[httpx.Response, dict[str, Any] | None]:
        """``/next``, then at once ``/dispositions`` (``no_answer``) of the record it gave.

        Returns:
            The ``/next`` answer when it was not a record (refused or none eligible), else the
            disposition's answer; and the record issued, if any.
        """
        got = self.post("/next", {}, via=via)
        record = got.json().get("record") if got.status_code == 200 else None
        if record is None:
            return got, None
        done = self.post("/dispositions", {"lease_id": record["lease_id"], "code": "no_answer"}, via=via)
        return done, record

    def close(self) -> None:
        """Close the connections."""
        for client in self.clients:
            client.close()
