"""Agents: the list with filters, one agent's page with its activity, and the actions on an agent.

A supervisor sees and suspends only its own organisation's agents (scoped
in the query: another organisation's agent is not found); reinstating,
revoking devices, resetting a password and giving an enrolment code are
the owner admin's. One-time secrets are shown once, on the answer to the
POST, and never stored in clear.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from owner_server.audit.live import HOUR, agent_hourly_issued
from owner_server.audit.reports import Period, parse_period
from owner_server.console.activity_charts import agent_hours_chart
from owner_server.console.auth import require
from owner_server.console.i18n import pick_language, translator
from owner_server.console.permissions import Permission, allowed
from owner_server.console.render import local_zone, render
from owner_server.console.scoping import is_owner_staff, outsourcer_scope
from owner_server.console.state import ConsoleState, console_state
from owner_server.identity import agents
from owner_server.identity.console_sessions import ConsolePrincipal
from owner_server.identity.outsourcers import list_outsourcers
from owner_server.models._common import utcnow
from shared.errors import ValidationError

__all__ = ["router"]

router = APIRouter()

Viewer = Annotated[ConsolePrincipal, Depends(require(Permission.AGENTS_VIEW))]
Suspender = Annotated[ConsolePrincipal, Depends(require(Permission.AGENTS_SUSPEND))]
Manager = Annotated[ConsolePrincipal, Depends(require(Permission.AGENTS_MANAGE))]
State = Annotated[ConsoleState, Depends(console_state)]

#: Rows the list shows at most (filter to see others).
MAX_ROWS = 500


def _status(text: str | None) -> agents.AgentStatus | None:
    if not text:
        return None
    try:
        return agents.AgentStatus(text)
    except ValueError:
        raise ValidationError("status is working, suspended or locked") from None


@router.get("/agents")
def agent_list(
    request: Request,
    principal: Viewer,
    state: State,
    outsourcer: str | None = None,
    status: str | None = None,
    q: str | None = None,
) -> Response:
    """Agents, filtered by organisation (owner staff only), status and login."""
    owner = is_owner_staff(principal)
    chosen = _status(status)
    with state.transaction() as session:
        rows = agents.list_agents(
            session,
            outsourcer=(outsourcer or None) if owner else None,
            outsourcer_id=outsourcer_scope(principal),
            status=chosen,
            login_contains=(q or "").strip()[:64] or None,
        )
        orgs = [o.name for o in list_outsourcers(session)] if owner else []
    context = {
        "rows": rows[:MAX_ROWS],
        "total": len(rows),
        "max_rows": MAX_ROWS,
        "orgs": orgs,
        "owner": owner,
        "chosen": {"outsourcer": outsourcer or "", "status": chosen.value if chosen else "", "q": q or ""},
        "statuses": list(agents.AgentStatus),
    }
    return render(request, "agents/list.html", context)


def _period(day: str | None) -> Period:
    if day:
        try:
            return parse_period(since=date.fromisoformat(day).isoformat(), until=day, tz=local_zone())
        except ValueError:
            raise ValidationError("the day is a date such as 2026-01-31") from None
    end = utcnow().replace(minute=0, second=0, microsecond=0) + HOUR
    return Period(end - timedelta(hours=24), end)


@router.get("/agents/{login}")
def agent_page(request: Request, login: str, principal: Viewer, state: State, day: str | None = None) -> Response:
    """One agent: status, devices, last login and records issued per hour (the last 24 hours or ``day``)."""
    period = _period(day)
    with state.transaction() as session:
        detail = agents.agent_detail(session, login=login, outsourcer_id=outsourcer_scope(principal))
        hours = agent_hourly_issued(session, user_id=detail.user_id, period=period)
    _ = translator(pick_language(request))
    done = {
        "suspended": _("The agent is suspended; its record was taken back and its sessions ended."),
        "reinstated": _("The agent is reinstated; it may log in again."),
    }
    context = {
        "detail": detail,
        "a": detail.agent,
        "owner": is_owner_staff(principal),
        "may_suspend": allowed(principal.role, Permission.AGENTS_SUSPEND),
        "may_manage": allowed(principal.role, Permission.AGENTS_MANAGE),
        "day": day or "",
        "chart": agent_hours_chart(hours, zone=local_zone(), label=_("Records issued")),
        "issued_total": sum(n for _, n in hours),
        "done": done.get(request.query_params.get("done", "")),
    }
    return render(request, "agents/detail.html", context)


def _back(login: str, done: str) -> Response:
    return RedirectResponse(f"/agents/{quote(login, safe='')}?done={done}", status_code=303)


@router.post("/agents/{login}/suspend")
def agent_suspend(login: str, principal: Suspender, state: State, reason: Annotated[str, Form()] = "") -> Response:
    """Suspend an agent (own agents only for a supervisor): its record is taken back and its tokens revoked."""
    with state.transaction() as session:
        agents.suspend(
            session, login=login, reason=reason, actor=principal.actor, outsourcer_id=outsourcer_scope(principal)
        )
    return _back(login, "suspended")


@router.post("/agents/{login}/reinstate")
def agent_reinstate(login: str, principal: Manager, state: State) -> Response:
    """Lift an agent's suspension."""
    with state.transaction() as session:
        agents.reinstate(session, login=login, actor=principal.actor)
    return _back(login, "reinstated")


def _secret(request: Request, login: str, *, title: str, secret: str, note: str) -> Response:
    """The one page that shows a one-time secret (``title`` and ``note`` already translated)."""
    return render(request, "agents/secret.html", {"login": login, "title": title, "secret": secret, "note": note})


@router.post("/agents/{login}/revoke-device")
def agent_revoke_device(request: Request, login: str, principal: Manager, state: State) -> Response:
    """Revoke every device and session of an agent; show the new enrolment code once."""
    with state.transaction() as session:
        code = agents.revoke_devices(session, login=login, actor=principal.actor)
    _ = translator(pick_language(request))
    return _secret(
        request,
        login,
        title=_("Devices revoked"),
        secret=code,
        note=_(
            "Every device and session of the agent was revoked. Give the agent this enrolment code for its new device."
        ),
    )


@router.post("/agents/{login}/reset-password")
def agent_reset_password(request: Request, login: str, principal: Manager, state: State) -> Response:
    """Give an agent a generated password, shown once; its sessions end."""
    with state.transaction() as session:
        password = agents.reset_password(session, login=login, password=None, actor=principal.actor)
    _ = translator(pick_language(request))
    return _secret(
        request,
        login,
        title=_("Password reset"),
        secret=password,
        note=_("The agent's sessions ended. Give the agent this password; it is not stored and is shown only now."),
    )


@router.post("/agents/{login}/enrolment-code")
def agent_enrolment_code(request: Request, login: str, principal: Manager, state: State) -> Response:
    """Give an agent a new one-time enrolment code, shown once."""
    with state.transaction() as session:
        code = agents.give_enrolment_code(session, login=login, actor=principal.actor)
    _ = translator(pick_language(request))
    return _secret(
        request,
        login,
        title=_("Enrolment code"),
        secret=code,
        note=_("A one-time code to enrol another device; older unused codes no longer work."),
    )
