"""A scripted attacker: valid agent credentials and a client written from the wire protocol, at full speed.

It enrols its own device key, logs in, and takes records as fast as the
server answers (``/next`` then an immediate outcome), keeping every record
it got. It stops when the server stops it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.auth import login_challenge
from shared.protocol import b64encode

API = "/api/v1/agent"


@dataclass
class Haul:
    """What the scraper got: the records, and how it was stopped."""

    records: list[dict] = field(default_factory=list)
    stopped_by: dict | None = None
    stopped_status: int = 0
    bodies: list[bytes] = field(default_factory=list)


class Scraper:
    """An httpx client trusting only the owner's CA, with its own Ed25519 device key."""

    def __init__(self, port: int, ca: Path) -> None:
        tls = ssl.create_default_context(cafile=str(ca))
        self.http = httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=tls, timeout=30)
        self.key = Ed25519PrivateKey.generate()
        self.token = ""

    def post(self, path: str, body: dict, haul: Haul | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.post(API + path, json=body, headers=headers)
        if haul is not None:
            haul.bodies.append(response.content)
        return response

    def enrol_and_login(self, code: str, login: str, password: str) -> None:
        public = b64encode(self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        enrolled = self.post("/enrol", {"enrolment_code": code, "device_public_key": public, "device_name": "bot"})
        device_id = enrolled.json()["device_id"]
        nonce = self.post("/nonce", {"device_id": device_id}).json()["nonce"]
        signature = b64encode(self.key.sign(login_challenge(login=login, device_id=device_id, nonce=nonce)))
        body = {"login": login, "password": password, "device_id": device_id, "nonce": nonce, "signature": signature}
        answer = self.post("/login", body)
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]

    def take_everything(self, limit: int = 10_000) -> Haul:
        """Claim and dispose as fast as possible until refused; returns what was taken."""
        haul = Haul()
        for _ in range(limit):
            got = self.post("/next", {}, haul)
            if got.status_code != 200:
                haul.stopped_by, haul.stopped_status = got.json(), got.status_code
                return haul
            record = got.json()["record"]
            if record is None:
                return haul
            haul.records.append(record)
            done = self.post("/dispositions", {"lease_id": record["lease_id"], "code": "no_answer"}, haul)
            if done.status_code != 200:
                haul.stopped_by, haul.stopped_status = done.json(), done.status_code
                return haul
        return haul

    def still_works(self) -> httpx.Response:
        return self.post("/next", {})

    def close(self) -> None:
        self.http.close()
