"""Synchronous client of the agent API (``/api/v1/agent/``); no Qt here.

Every request and response body is a :mod:`shared.protocol` model. Responses
are read with a size bound (``LIMITS.max_response_bytes``) and parsed strictly;
errors become the closed tree in :mod:`agent_client.errors`. The bearer token
lives only in this object's memory.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import TypeVar

import httpx
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from agent_client.credentials import DeviceIdentity
from agent_client.errors import ApiError, NetworkError, ProtocolError
from shared.errors import ErrorCode
from shared.limits import LIMITS
from shared.protocol import (
    CallRequest,
    CallView,
    DisplayEvent,
    DispositionRequest,
    DispositionResponse,
    EnrolRequest,
    EnrolResponse,
    ErrorBody,
    EventBatch,
    EventBatchResult,
    LoginRequest,
    LoginResponse,
    NextRecordResponse,
    NonceRequest,
    NonceResponse,
    VerifyRequest,
    VerifyResponse,
    b64encode,
    login_challenge,
)
from shared.version import __version__

__all__ = ["AgentApi", "CallApi"]

log = logging.getLogger(__name__)

_M = TypeVar("_M", bound=BaseModel)
_DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


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
        self._token: str | None = None

    @property
    def logged_in(self) -> bool:
        """Whether a bearer token is held."""
        return self._token is not None

    def close(self) -> None:
        """Forget the token and close connections."""
        self._token = None
        self._client.close()

    def logout(self) -> None:
        """Forget the bearer token (the server lets it expire)."""
        self._token = None

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

        Raises:
            ApiError: Credentials, device proof or account refused.
            NetworkError: The server could not be reached.
            ProtocolError: The response is malformed or too large.
        """
        self._token = None
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
        self._token = response.access_token
        return response

    def next_record(self) -> NextRecordResponse:
        """Ask for the record leased to this agent (the same one until it is closed)."""
        return self._post("next", None, NextRecordResponse)

    def dispose(self, *, lease_id: str, code: str) -> DispositionResponse:
        """Record the outcome of the leased record, closing the lease."""
        return self._post("dispositions", DispositionRequest(lease_id=lease_id, code=code), DispositionResponse)

    def send_events(self, events: tuple[DisplayEvent, ...]) -> EventBatchResult:
        """Upload a batch of display events (idempotent by ``event_id``)."""
        return self._post("events", EventBatch(events=events), EventBatchResult)

    def _post(self, path: str, body: BaseModel | None, model: type[_M], *, auth: bool = True) -> _M:
        headers: dict[str, str] = {}
        if auth:
            if self._token is None:
                raise ApiError(ErrorCode.UNAUTHORIZED, "not logged in", status=401)
            headers["Authorization"] = f"Bearer {self._token}"
        payload = body.model_dump(mode="json") if body is not None else {}
        try:
            with self._client.stream("POST", path, json=payload, headers=headers) as response:
                raw = self._read_bounded(response)
                status = response.status_code
        except httpx.HTTPError as exc:
            log.warning("request %s failed: %s", path, type(exc).__name__)
            raise NetworkError(f"cannot reach the server ({type(exc).__name__})") from exc
        if self._on_response is not None:
            self._on_response(raw)
        if not 200 <= status < 300:
            raise self._error_from(status, raw, path)
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
    def _error_from(status: int, raw: bytes, path: str) -> ApiError | ProtocolError:
        try:
            body = ErrorBody.model_validate_json(raw)
        except PydanticValidationError:
            log.warning("request %s failed with status %d and no error body", path, status)
            return ProtocolError(f"status {status} without an error body")
        log.info("request %s refused: %s", path, body.code)
        return ApiError(body.code, body.message, status=status, retry_at=body.retry_at, quota=body.quota)

    def _get(self, path: str, model: type[_M]) -> _M:
        """GET ``path`` with the bearer token; bounded, strictly parsed, errors as in ``_post``."""
        if self._token is None:
            raise ApiError(ErrorCode.UNAUTHORIZED, "not logged in", status=401)
        try:
            with self._client.stream("GET", path, headers={"Authorization": f"Bearer {self._token}"}) as response:
                raw = self._read_bounded(response)
                status = response.status_code
        except httpx.HTTPError as exc:
            log.warning("request %s failed: %s", path, type(exc).__name__)
            raise NetworkError(f"cannot reach the server ({type(exc).__name__})") from exc
        if self._on_response is not None:
            self._on_response(raw)
        if not 200 <= status < 300:
            raise self._error_from(status, raw, path)
        try:
            return model.model_validate_json(raw)
        except PydanticValidationError as exc:
            raise ProtocolError(f"malformed {path} response") from exc


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
