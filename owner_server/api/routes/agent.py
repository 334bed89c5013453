"""Agent API (``/api/v1/agent/``): enrol, log in, next record, outcome, events, refused starts, client reports.

Routes parse, authenticate (the hot path through
:meth:`~owner_server.api.state.ServerState.agent_transaction`: read first, then
one write transaction), call a service and return a wire model from :mod:`shared.protocol`. There is no
search, list or export here, by design.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from owner_server.api.deps import BearerToken, ClientAddress, StateDep
from owner_server.api.state import ServerState
from owner_server.core.db import read_only
from owner_server.identity import integrity, sessions
from owner_server.identity import login as identity
from owner_server.identity.client_report import record_client_report
from owner_server.identity.login_password import PasswordCheck, check_password, read_password_hash
from owner_server.work import distribution
from owner_server.work import outcomes as work
from shared.auth import (
    EnrolRequest,
    EnrolResponse,
    LoginRequest,
    LoginResponse,
    NonceRequest,
    NonceResponse,
    RefreshRequest,
    RefreshResponse,
)
from shared.client_report import ClientReport, ClientReportResult
from shared.integrity import IntegrityReport
from shared.protocol import DispositionRequest, DispositionResponse, EventBatch, EventBatchResult, NextRecordResponse

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/agent", tags=["agent"])


@router.post("/enrol")
def enrol(body: EnrolRequest, state: StateDep, address: ClientAddress) -> EnrolResponse:
    """Bind a device key using a one-time enrolment code."""
    with state.transaction() as session:
        return identity.enrol_device(session, request=body, address=address)


@router.post("/nonce")
def nonce(body: NonceRequest, state: StateDep) -> NonceResponse:
    """Issue a single-use login challenge."""
    with state.transaction() as session:
        return identity.issue_nonce(session, device_id=body.device_id)


def _check_password(state: ServerState, body: LoginRequest) -> PasswordCheck:
    with read_only(), Session(state.engine) as session:
        encoded = read_password_hash(session, body.login)
    return check_password(encoded, body.password)


def _login(state: ServerState, body: LoginRequest, address: str, checked: PasswordCheck) -> LoginResponse:
    with state.transaction() as session:
        lifetimes = state.settings.sessions
        return identity.login(session, request=body, address=address, lifetimes=lifetimes, checked=checked)


@router.post("/login")
async def login(body: LoginRequest, state: StateDep, address: ClientAddress) -> LoginResponse:
    """Exchange password plus device signature for a bearer token (ending the agent's other sessions).

    The password is checked first, through the login gate (``503 server_busy`` with
    ``Retry-After`` when its queue is full), then the rest in one write transaction.
    """
    checked = await state.login_gate.run(lambda: _check_password(state, body))
    return await run_in_threadpool(_login, state, body, address, checked)


@router.post("/integrity-reports", status_code=204)
def integrity_report(body: IntegrityReport, state: StateDep, address: ClientAddress) -> Response:
    """Record that the client refused to start (debugged or injected into), signed by the device."""
    with state.transaction() as session:
        integrity.record_integrity_report(session, report=body, address=address)
    return Response(status_code=204)


@router.post("/refresh")
def refresh(body: RefreshRequest, state: StateDep, address: ClientAddress) -> RefreshResponse:
    """Exchange a single-use refresh token plus device signature for new tokens of the same session."""
    with state.transaction() as session:
        return sessions.refresh(session, request=body, lifetimes=state.settings.sessions, address=address)


@router.post("/next")
def next_record(state: StateDep, token: BearerToken, address: ClientAddress) -> NextRecordResponse:
    """The agent's current record (leasing the next one if none is open)."""
    with state.agent_transaction(token=token, address=address) as (session, agent):
        return distribution.next_record(session, agent=agent, keys=state.keys, watermark_key=state.watermark_key)


@router.post("/dispositions")
def dispositions(
    body: DispositionRequest, state: StateDep, token: BearerToken, address: ClientAddress
) -> DispositionResponse:
    """Record the outcome of the leased record and close the lease."""
    with state.agent_transaction(token=token, address=address) as (session, agent):
        return work.record_disposition(session, agent=agent, request=body, keys=state.keys)


@router.post("/events")
def events(body: EventBatch, state: StateDep, token: BearerToken, address: ClientAddress) -> EventBatchResult:
    """Store display events once each."""
    with state.agent_transaction(token=token, address=address) as (session, agent):
        return work.record_events(session, agent=agent, batch=body)


@router.post("/client-report")
def client_report(
    body: ClientReport, state: StateDep, token: BearerToken, address: ClientAddress
) -> ClientReportResult:
    """Audit what the client reports about itself (its screen-reader setting, a refused capture exclusion)."""
    with state.transaction() as session:
        agent = identity.authenticate(session, token=token, address=address)
        return record_client_report(session, agent=agent, report=body)
