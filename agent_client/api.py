"""Synchronous client of the agent API (``/api/v1/agent/``); no Qt here.

Every request and response body is a :mod:`shared.protocol` model. Responses
are read with a size bound (``LIMITS.max_response_bytes``) and parsed strictly;
errors become the closed tree in :mod:`agent_client.errors`. The bearer and
refresh tokens live only in this object's memory.

Sessions: the access token is short-lived; this client renews it with the
single-use refresh token and a device-key signature (``/refresh``) once two
thirds of its life have passed, before the next request (or when
:meth:`AgentApi.refresh_if_due` is called), and on a ``token_expired`` answer
it refreshes once and retries the request transparently.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import httpx
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from agent_client.busy_retry import retry_when_busy
from agent_client.credentials import DeviceIdentity
from agent_client.errors import ApiError, NetworkError, ProtocolError
from shared.auth import (
    EnrolRequest,
    EnrolResponse,
    LoginRequest,
    LoginResponse,
    NonceRequest,
    NonceResponse,
    RefreshRequest,
    RefreshResponse,
    login_challenge,
    refresh_challenge,
)
from shared.calls import CallRequest, CallView, VerifyRequest, VerifyResponse
from shared.client_report import ClientReport, ClientReportResult
from shared.errors import ErrorCode
from shared.limits import LIMITS
from shared.protocol import (
    DisplayEvent,
    DispositionRequest,
    DispositionResponse,
    ErrorBody,
    EventBatch,
    EventBatchResult,
    NextRecordResponse,
    b64encode,
)
from shared.version import __version__

__all__ = ["AgentApi", "CallApi"]

log = logging.getLogger(__name__)

_M = TypeVar("_M", bound=BaseModel)
_DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: Share of an access token's life after which it is refreshed ahead of expiry.
_REFRESH_AFTER = 2 / 3


class AgentApi:
    """Talks to one owner server on behalf of one device.

    Args:
        base_url: The agent API root, e.g. ``https://host:8443/api/v1/agent/``.
        ssl_context: TLS context trusting only the deployment CA
            (:func:`agent_client.config.build_ssl_context`).
        transport: An httpx transport to use instead of the network (tests).
        timeout: Request timeouts.
        max_response_bytes: Largest response body read; larger is a :class:`ProtocolError`.
        on_response: Called with every raw response body read, success or error
            (lets a test inspect everything the server sent).
        monotonic: The clock that times token refreshes (seconds; injected for tests).
        sleep: Waits before a login is tried again after ``503 server_busy`` (injected for tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = _DEFAULT_TIMEOUT,
        max_response_bytes: int = LIMITS.max_response_bytes,
        on_response: Callable[[bytes], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if ssl_context is None and transport is None:
            raise ValueError("an ssl_context pinned to the deployment CA is required")
        self._client = httpx.Client(
            base_url=base_url,
            verify=ssl_context if ssl_context is not None else True,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": f"custos-agent/{__version__}", "Accept": "application/json"},
        )
        self._max_response_bytes = max_response_bytes
        self._on_response = on_response
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.RLock()
        self._token: str | None = None
        self._refresh_token: str | None = None
        self._session_id: str | None = None
        self._identity: DeviceIdentity | None = None
        self._refresh_at = 0.0

    @property
    def logged_in(self) -> bool:
        """Whether a bearer token is held."""
        return self._token is not None

    @property
    def session_id(self) -> str | None:
        """The login session the tokens belong to, while logged in."""
        return self._session_id if self._token is not None else None

    def close(self) -> None:
        """Forget the tokens and close connections."""
        self.logout()
        self._client.close()

    def logout(self) -> None:
        """Forget the tokens (the server lets them expire)."""
        with self._lock:
            self._token = self._refresh_token = self._session_id = None

    def enrol(self, *, enrolment_code: str, public_key_b64: str, device_name: str) -> EnrolResponse:
        """Register this device's public key with a one-time enrolment code.

        Raises:
            ApiError: The code is invalid or used (``enrolment_invalid``), or another refusal.
            NetworkError: The server could not be reached.
            ProtocolError: The response is malformed or too large.
        """
        body = EnrolRequest(enrolment_code=enrolment_code, device_public_key=public_key_b64, device_name=device_name)
        return self._post("enrol", body, EnrolResponse, auth=False)

    def login(self, identity: DeviceIdentity, *, login: str, password: str) -> LoginResponse:
        """Fetch a nonce, sign the login challenge with the device key, log in.

        A ``503 server_busy`` answer (the server's login queue is full) is tried again, with a
        fresh nonce, after its ``Retry-After`` plus jitter (:func:`agent_client.busy_retry.retry_when_busy`).

        Raises:
            ApiError: Credentials, device proof or account refused; ``server_busy`` after minutes of waiting.
            NetworkError: The server could not be reached.
            ProtocolError: The response is malformed or too large.
        """
        self.logout()
        return retry_when_busy(lambda: self._login_once(identity, login, password), sleep=self._sleep)

    def _login_once(self, identity: DeviceIdentity, login: str, password: str) -> LoginResponse:
        nonce = self._post("nonce", NonceRequest(device_id=identity.device_id), NonceResponse, auth=False)
        challenge = login_challenge(login=login, device_id=identity.device_id, nonce=nonce.nonce)
        request = LoginRequest(
            login=login,
            password=password,
            device_id=identity.device_id,
            nonce=nonce.nonce,
            signature=b64encode(identity.sign(challenge)),
        )
        response = self._post("login", request, LoginResponse, auth=False)
        with self._lock:
            self._identity = identity
            self._session_id = response.session_id
            self._keep(response.access_token, response.refresh_token, response.expires_in_s)
        return response

    def _keep(self, access: str, refresh: str | None, expires_in_s: int) -> None:
        self._token = access
        self._refresh_token = refresh
        self._refresh_at = self._monotonic() + max(expires_in_s, 0) * _REFRESH_AFTER

    def refresh(self) -> RefreshResponse:
        """Renew both tokens of this session with the refresh token and a device-key signature.

        A refused refresh (the session ended: reused token, maximum length, new
        login, suspension, revoked device) forgets the tokens.

        Raises:
            ApiError: The server refused; the client is logged out.
            NetworkError: The server could not be reached (the tokens are kept).
            ProtocolError: The response is malformed or too large.
        """
        with self._lock:
            identity, token, session_id = self._identity, self._refresh_token, self._session_id
            if identity is None or token is None or session_id is None:
                raise ApiError(ErrorCode.UNAUTHORIZED, "no session to refresh", status=401)
            nonce = self._post("nonce", NonceRequest(device_id=identity.device_id), NonceResponse, auth=False)
            digest = hashlib.sha256(token.encode()).hexdigest()
            challenge = refresh_challenge(
                session_id=session_id, device_id=identity.device_id, nonce=nonce.nonce, refresh_token_sha256=digest
            )
            request = RefreshRequest(
                refresh_token=token,
                device_id=identity.device_id,
                nonce=nonce.nonce,
                signature=b64encode(identity.sign(challenge)),
            )
            try:
                response = self._post("refresh", request, RefreshResponse, auth=False)
            except ApiError:
                self.logout()
                raise
            self._keep(response.access_token, response.refresh_token, response.expires_in_s)
            log.info("session tokens refreshed")
            return response

    def refresh_if_due(self) -> bool:
        """Refresh the tokens when two thirds of the access token's life have passed.

        Returns:
            True when a refresh was made.

        Raises:
            ApiError, NetworkError, ProtocolError: As :meth:`refresh`.
        """
        with self._lock:
            if self._token is None or self._refresh_token is None or self._monotonic() < self._refresh_at:
                return False
            self.refresh()
            return True

    def next_record(self) -> NextRecordResponse:
        """Ask for the record leased to this agent (the same one until it is closed)."""
        return self._post("next", None, NextRecordResponse)

    def dispose(self, request: DispositionRequest) -> DispositionResponse:
        """Record the outcome of the leased record, closing the lease (idempotent by ``outcome_id``)."""
        return self._post("dispositions", request, DispositionResponse)

    def send_events(self, events: tuple[DisplayEvent, ...]) -> EventBatchResult:
        """Upload a batch of display events (idempotent by ``event_id``)."""
        return self._post("events", EventBatch(events=events), EventBatchResult)

    def send_client_report(self, report: ClientReport) -> ClientReportResult:
        """POST /client-report: a setting of this client or a refused capture exclusion, audited by the server."""
        return self._post("client-report", report, ClientReportResult)

    def _get(self, path: str, model: type[_M]) -> _M:
        return self._request("GET", path, None, model, auth=True)

    def _post(self, path: str, body: BaseModel | None, model: type[_M], *, auth: bool = True) -> _M:
        return self._request("POST", path, body, model, auth=auth)

    def _request(self, method: str, path: str, body: BaseModel | None, model: type[_M], *, auth: bool) -> _M:
        if not auth:
            return self._send(method, path, body, model, {})
        try:
            self.refresh_if_due()
        except NetworkError:
            log.info("token refresh before %s failed; the token still holds a third of its life", path)
        try:
            return self._send(method, path, body, model, self._auth_headers())
        except ApiError as exc:
            if exc.code != ErrorCode.TOKEN_EXPIRED or self._refresh_token is None:
                raise
        log.info("request %s: token expired; refreshing once", path)
        self.refresh()
        return self._send(method, path, body, model, self._auth_headers())

    def _auth_headers(self) -> dict[str, str]:
        token = self._token
        if token is None:
            raise ApiError(ErrorCode.UNAUTHORIZED, "not logged in", status=401)
        return {"Authorization": f"Bearer {token}"}

    def _send(self, method: str, path: str, body: BaseModel | None, model: type[_M], headers: dict[str, str]) -> _M:
        # Absent optional fields stay absent: a server that predates them (and forbids unknown ones) accepts the body.
        payload = body.model_dump(mode="json", exclude_none=True) if body is not None else {}
        try:
            json = payload if method == "POST" else None
            with self._client.stream(method, path, json=json, headers=headers) as response:
                raw = self._read_bounded(response)
                status = response.status_code
                retry_after = response.headers.get("Retry-After")
        except httpx.HTTPError as exc:
            log.warning("request %s failed: %s", path, type(exc).__name__)
            raise NetworkError(f"cannot reach the server ({type(exc).__name__})") from exc
        if self._on_response is not None:
            self._on_response(raw)
        if not 200 <= status < 300:
            raise self._error_from(status, raw, path, retry_after)
        try:
            return model.model_validate_json(raw)
        except PydanticValidationError as exc:
            raise ProtocolError(f"malformed {path} response") from exc

    def _read_bounded(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_response_bytes:
            raise ProtocolError("response larger than allowed")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._max_response_bytes:
                raise ProtocolError("response larger than allowed")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _error_from(status: int, raw: bytes, path: str, retry_after: str | None) -> ApiError | ProtocolError:
        try:
            body = ErrorBody.model_validate_json(raw)
        except PydanticValidationError:
            log.warning("request %s failed with status %d and no error body", path, status)
            return ProtocolError(f"status {status} without an error body")
        log.info("request %s refused: %s", path, body.code)
        seconds = float(retry_after) if retry_after is not None and retry_after.strip().isdigit() else None
        return ApiError(
            body.code, body.message, status=status, retry_at=body.retry_at, quota=body.quota, retry_after_s=seconds
        )


class CallApi:
    """The call and verification endpoints, over the session of an :class:`AgentApi`.

    Args:
        api: The logged-in API client whose token and connection are used.
    """

    def __init__(self, api: AgentApi) -> None:
        self._api = api

    def place_call(self, *, lease_id: str, request_id: str) -> CallView:
        """Ask the owner's telephony to dial the leased record (``request_id`` makes a retry place no second call).

        Raises:
            ApiError: Refused (``do_not_call``, ``outside_calling_hours``, ``max_attempts``,
                ``call_in_progress``, ``telephony_unavailable``, ``agent_phone_unavailable``...).
            NetworkError: The server could not be reached.
            ProtocolError: The response is malformed or too large.
        """
        return self._api._post("calls", CallRequest(lease_id=lease_id, request_id=request_id), CallView)

    def call_state(self, call_id: str) -> CallView:
        """The call's state now (polled while it is live)."""
        return self._api._get(f"calls/{call_id}", CallView)

    def hang_up(self, call_id: str) -> CallView:
        """End both legs of the call."""
        return self._api._post(f"calls/{call_id}/hangup", None, CallView)

    def verify(self, *, lease_id: str, field: str, value: str) -> VerifyResponse:
        """Check what the customer said against a ``verify_only`` field; the stored value never comes back.

        Raises:
            ApiError: ``verify_exhausted`` after the last try, or another refusal.
        """
        return self._api._post("verify", VerifyRequest(lease_id=lease_id, field=field, value=value), VerifyResponse)
