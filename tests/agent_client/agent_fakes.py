"""A fake at the edge: an in-memory implementation of the agent API contract.

Served through ``httpx.MockTransport`` for unit tests of the client; the real
server is exercised by the end-to-end tests, not here.
"""

import datetime
import hashlib
import json
import uuid

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import NameOID

from shared.auth import EnrolRequest, LoginRequest, NonceRequest, RefreshRequest, login_challenge, refresh_challenge
from shared.client_report import ClientReport
from shared.errors import ErrorCode
from shared.protocol import (
    DispositionOption,
    ErrorBody,
    EventBatch,
    FieldView,
    NextRecordResponse,
    QuotaView,
    RecordView,
    b64decode_strict,
)

BASE_URL = "https://custos.test:8443/api/v1/agent/"
ENROL_CODE = "enrol-code-1234"
AGENT_LOGIN = "agent.one"
PASSWORD = "correct horse battery"
PER_HOUR = 60
PER_DAY = 480


def utcnow():
    return datetime.datetime.now(datetime.UTC)


def make_ca_pem(common_name="Test Custos CA"):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def make_record(lease_id="lease-1"):
    now = datetime.datetime.now(datetime.UTC)
    return RecordView(
        lease_id=lease_id,
        contact_ref=f"c-{lease_id}",
        campaign="Autumn upgrade",
        script="Hello, I am calling about your contract.",
        fields=(
            FieldView(name="first_name", label="First name", value="Zofia"),
            FieldView(name="city", label="City", value="Gdańsk"),
            FieldView(name="customer_id", label="Customer id", value="•••••••4821", masked=True),
        ),
        phone_mask="••• ••• •••",
        dispositions=(
            DispositionOption(code="sale", label="Sale"),
            DispositionOption(code="no_answer", label="No answer"),
            DispositionOption(code="callback", label="Callback", shortcut="C"),
        ),
        issued_at=now,
        expires_at=now + datetime.timedelta(minutes=30),
    )


def _seq(event):
    return event.session_seq


class FakeAgentServer:
    """In-memory agent API implementing the contract (a fake at the edge).

    Containment as the real server answers it: ``/next`` carries the agent's
    quota; ``limit_until`` (a UTC time) makes ``/next`` refuse with
    ``quota_reached`` until then (``limit_period`` "hour" or "day");
    ``suspend()`` revokes the token and answers ``account_suspended``;
    ``locked_until`` and ``address_refused`` refuse logins; ``withdraw()``
    takes a leased record away so that its outcome gets ``no_lease``.
    """

    def __init__(self):
        self.public_key = None
        self.device_id = None
        self.nonces = set()
        self.token = None
        self.records = [make_record("lease-1"), make_record("lease-2")]
        self.events = {}
        self.event_bodies = []  # each uploaded event as the JSON object that arrived
        self.dispositions = []
        self.call = None
        self.call_step = 0
        self.call_requests = []
        self.call_refusal = None
        self.hung_up = False
        self.verify_tries = 0
        self.verify_value = "1990-01-31"
        self.call_script = [
            {"state": "dialing"},
            {"state": "agent_ringing"},
            {"state": "customer_ringing"},
            {"state": "answered", "fields": [{"name": "pesel", "label": "PESEL", "value": "90013112345"}]},
            {"state": "ended", "result": "completed", "talk_s": 42},
        ]
        self.fail_events = 0
        self.requests = []
        self.issued = set()  # lease ids handed out, for the quota count
        self.issued_before = 22  # records the agent had already had this hour
        self.issued_before_day = 130
        self.limit_until = None
        self.limit_period = "hour"
        self.suspended = False
        self.locked_until = None
        self.address_refused = False
        self.next_times = []  # when each /next arrived (UTC)
        self.token_ttl_s = 900  # what login and refresh say the access token lives
        self.expired = False  # True: the current access token answers token_expired
        self.refresh_token = None
        self.used_refresh = set()
        self.refreshes = 0
        self.disposition_bodies = []  # each disposition as the JSON object that arrived
        self.fail_dispositions = 0
        self.client_reports = []  # each ClientReport that arrived

    def transport(self):
        return httpx.MockTransport(self.handle)

    @staticmethod
    def _error(status, code, message="refused", **extra):
        body = ErrorBody(code=code, message=message, **extra)
        return httpx.Response(status, json=body.model_dump(mode="json", exclude_none=True))

    def quota(self):
        hour = self.issued_before + len(self.issued)
        day = self.issued_before_day + len(self.issued)
        if self.limit_until is not None:
            hour, day = (PER_HOUR, day) if self.limit_period == "hour" else (hour, PER_DAY)
        return QuotaView(issued_hour=hour, per_hour=PER_HOUR, issued_day=day, per_day=PER_DAY)

    def suspend(self):
        """Suspend the agent: its next request trips it (revoking the token) and logins are refused."""
        self.suspended = True

    def withdraw(self, lease_id):
        """Withdraw a leased record (a DNC import): it is gone from the agent's work."""
        self.records = [r for r in self.records if r.lease_id != lease_id]

    def handle(self, request):
        path = request.url.path.removeprefix("/api/v1/agent/")
        self.requests.append((path, request.headers.get("Authorization")))
        body = request.content
        if path == "enrol":
            enrol = EnrolRequest.model_validate_json(body)
            if enrol.enrolment_code != ENROL_CODE or self.device_id:
                return self._error(400, ErrorCode.ENROLMENT_INVALID)
            self.public_key = Ed25519PublicKey.from_public_bytes(
                b64decode_strict(enrol.device_public_key, expected_len=32)
            )
            self.device_id = "dev-1"
            return httpx.Response(200, json={"device_id": self.device_id, "login": AGENT_LOGIN})
        if path == "nonce":
            NonceRequest.model_validate_json(body)
            nonce = uuid.uuid4().hex
            self.nonces.add(nonce)
            return httpx.Response(200, json={"nonce": nonce, "expires_in_s": 60})
        if path == "login":
            return self._login(LoginRequest.model_validate_json(body))
        if path == "refresh":
            return self._refresh(RefreshRequest.model_validate_json(body))
        if self.expired and request.headers.get("Authorization") == f"Bearer {self.token}":
            return self._error(401, ErrorCode.TOKEN_EXPIRED)
        if request.headers.get("Authorization") != f"Bearer {self.token}" or self.token is None:
            return self._error(401, ErrorCode.UNAUTHORIZED)
        if self.suspended:  # as in the request that trips a rule: tokens revoked, lease closed
            self.token = None
            self.records.clear()
            return self._error(403, ErrorCode.ACCOUNT_SUSPENDED, "account suspended")
        if path == "next":
            return self._next()
        if path == "dispositions":
            data = json.loads(body)
            self.disposition_bodies.append(data)
            if self.fail_dispositions:
                self.fail_dispositions -= 1
                return self._error(503, ErrorCode.INTERNAL)
            if not self.records or self.records[0].lease_id != data["lease_id"]:
                return self._error(409, ErrorCode.NO_LEASE)
            self.records.pop(0)
            self.dispositions.append((data["lease_id"], data["code"]))
            closed = datetime.datetime.now(datetime.UTC).isoformat()
            return httpx.Response(200, json={"lease_id": data["lease_id"], "code": data["code"], "closed_at": closed})
        if path == "client-report":
            self.client_reports.append(ClientReport.model_validate_json(body))
            return httpx.Response(200, json={"audited": True})
        if path.startswith("calls") or path == "verify":
            return self._calls(request.method, path, body)
        if path == "events":
            if self.fail_events:
                self.fail_events -= 1
                return self._error(500, ErrorCode.INTERNAL)
            batch = EventBatch.model_validate_json(body)  # the real rules, detail vs kind included
            self.event_bodies.extend(json.loads(body)["events"])
            new = [e for e in batch.events if e.event_id not in self.events]
            self.events.update({e.event_id: e for e in batch.events})
            return httpx.Response(200, json={"accepted": len(new), "duplicates": len(batch.events) - len(new)})
        return self._error(404, ErrorCode.NOT_FOUND)

    def _calls(self, method, path, body):
        """Calls play ``self.call_script`` (one state per request); verify matches ``self.verify_value``."""
        now = utcnow()
        if path == "verify":
            data = json.loads(body)
            self.verify_tries += 1
            left = max(3 - self.verify_tries, 0)
            if self.verify_tries > 3:
                return self._error(429, ErrorCode.VERIFY_EXHAUSTED)
            return httpx.Response(
                200, json={"field": data["field"], "match": data["value"] == self.verify_value, "tries_left": left}
            )
        if path == "calls":
            if self.call_refusal is not None:
                return self._error(409, self.call_refusal)
            data = json.loads(body)
            self.call_requests.append(data)
            self.call = {"call_id": "call-1", "lease_id": data["lease_id"], "created_at": now.isoformat()}
            self.call_step = 0
        elif path.endswith("/hangup"):
            self.call_step = len(self.call_script) - 1
            self.hung_up = True
        if self.call is None or not path.startswith(("calls/" + self.call["call_id"], "calls")):
            return self._error(404, ErrorCode.NOT_FOUND)
        state = self.call_script[min(self.call_step, len(self.call_script) - 1)]
        self.call_step += 1
        return httpx.Response(200, json={**self.call, **state})

    def _next(self):
        now = utcnow()
        self.next_times.append(now)
        if self.limit_until is not None:
            if now < self.limit_until:
                return self._error(
                    429, ErrorCode.QUOTA_REACHED, "record limit reached", retry_at=self.limit_until, quota=self.quota()
                )
            self.limit_until = None
        record = self.records[0] if self.records else None
        if record is not None:
            self.issued.add(record.lease_id)
        response = NextRecordResponse(record=record, retry_after_s=0 if record else 7, quota=self.quota())
        return httpx.Response(200, json=response.model_dump(mode="json"))

    def kinds(self):
        """The stored events as (kind, detail) in session order."""
        return [(e.kind.value, e.detail and e.detail.value) for e in sorted(self.events.values(), key=_seq)]

    def _login(self, login):
        if login.nonce not in self.nonces:
            return self._error(401, ErrorCode.NONCE_INVALID)
        self.nonces.discard(login.nonce)
        try:
            challenge = login_challenge(login=login.login, device_id=login.device_id, nonce=login.nonce)
            self.public_key.verify(b64decode_strict(login.signature, expected_len=64), challenge)
        except InvalidSignature:
            return self._error(401, ErrorCode.BAD_SIGNATURE)
        if self.address_refused:
            return self._error(403, ErrorCode.ADDRESS_NOT_ALLOWED, "address not allowed")
        if self.locked_until is not None and utcnow() < self.locked_until:
            return self._error(403, ErrorCode.ACCOUNT_LOCKED, "account locked", retry_at=self.locked_until)
        if login.login != AGENT_LOGIN or login.password != PASSWORD:
            return self._error(401, ErrorCode.UNAUTHORIZED)
        if self.suspended:
            return self._error(403, ErrorCode.ACCOUNT_SUSPENDED, "account suspended")
        self.token = uuid.uuid4().hex
        self.refresh_token = uuid.uuid4().hex
        return httpx.Response(
            200,
            json={
                "access_token": self.token,
                "refresh_token": self.refresh_token,
                "session_expires_in_s": 43200,
                "expires_in_s": self.token_ttl_s,
                "session_id": "sess-1",
                "agent_login": AGENT_LOGIN,
                "agent_id": "agent-1",
                "campaign": "Autumn upgrade",
            },
        )

    def _refresh_refused(self):
        self.token = self.refresh_token = None
        return self._error(401, ErrorCode.UNAUTHORIZED)

    def _refresh(self, refresh):
        if refresh.refresh_token in self.used_refresh:  # reuse ends the session
            return self._refresh_refused()
        if refresh.refresh_token != self.refresh_token or refresh.nonce not in self.nonces:
            return self._error(401, ErrorCode.UNAUTHORIZED)
        self.nonces.discard(refresh.nonce)
        digest = hashlib.sha256(refresh.refresh_token.encode()).hexdigest()
        challenge = refresh_challenge(
            session_id="sess-1", device_id=refresh.device_id, nonce=refresh.nonce, refresh_token_sha256=digest
        )
        try:
            self.public_key.verify(b64decode_strict(refresh.signature, expected_len=64), challenge)
        except InvalidSignature:
            return self._error(401, ErrorCode.BAD_SIGNATURE)
        self.used_refresh.add(refresh.refresh_token)
        self.token, self.refresh_token, self.expired = uuid.uuid4().hex, uuid.uuid4().hex, False
        self.refreshes += 1
        body = {
            "access_token": self.token,
            "expires_in_s": self.token_ttl_s,
            "refresh_token": self.refresh_token,
            "session_id": "sess-1",
            "session_expires_in_s": 43000,
        }
        return httpx.Response(200, json=body)


def say_no_call(window):
    """In a record window, choose the first "could not call" reason: the outcome buttons are enabled after it."""
    box = window.panel.call_panel.no_call_box
    box.setCurrentIndex(1)
    box.activated.emit(1)
