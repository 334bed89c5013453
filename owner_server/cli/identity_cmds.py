"""Commands that administer agents, campaigns and outsourcers.

``agent list|suspend|reinstate|revoke-device|reset-password|enrolment-code``, ``campaign list``
and ``outsourcer list|set-limits|set-networks|set-shift``.

Thin: parse, open the installation, call an :mod:`owner_server.identity`
service in one transaction (audited there), print. Bad input is one line and
exit status 2, and changes nothing. One-time secrets are printed once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from owner_server.cli import manage
from owner_server.cli.common import (
    DataDirOpt,
    DbUrlOpt,
    JsonOpt,
    add_row,
    fail,
    installation,
    out,
    print_json,
    print_new_password,
    read_secret_stdin,
)
from owner_server.core.db import session_scope
from owner_server.identity import agents, campaigns, outsourcers, phones

__all__ = ["register"]

ACTOR = manage.ACTOR
LoginArg = Annotated[str, typer.Argument(help="The agent's login.")]
NameArg = Annotated[str, typer.Argument(help="The outsourcer's name.")]
ClearOpt = Annotated[bool, typer.Option("--clear", help="Remove the setting.")]


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="minutes") if value is not None else "-"


def _json_ready(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, datetime) else list(v) if isinstance(v, tuple) else v)
        for k, v in data.items()
    }


def agent_list(
    outsourcer: Annotated[str | None, typer.Option(help="Only this outsourcer's agents.")] = None,
    status: Annotated[
        agents.AgentStatus | None, typer.Option(help="Only agents working now, suspended or locked out.")
    ] = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List agents: outsourcer, campaign, suspension, lock-out, devices and last login."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        rows = agents.list_agents(session, outsourcer=outsourcer, status=status)
    if json_out:
        print_json({"agents": [_json_ready(asdict(r)) for r in rows]})
        return
    table = Table("login", "outsourcer", "campaign", "status", "locked until", "devices", "last login", "phone")
    for r in rows:
        state = f"suspended: {r.suspended_reason}" if r.suspended else "working" if r.working else "active"
        when = (_when(r.locked_until), str(r.devices), _when(r.last_login))
        add_row(table, r.login, r.outsourcer, r.campaign, state, *when, r.phone or "-")
    out.print(table if rows else "No agents.")


def agent_suspend(
    login: LoginArg,
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit log; no personal data).")],
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Suspend an agent now: its open record is withdrawn and every token revoked."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        agents.suspend(session, login=login, reason=reason, actor=ACTOR)
    out.print(f"Suspended agent [bold]{escape(str(login))}[/]; its sessions ended and its open record was withdrawn")


def agent_set_phone(
    login: LoginArg,
    endpoint: Annotated[
        str | None, typer.Option(help="The agent's own phone as the PBX dials it, e.g. PJSIP/1001.")
    ] = None,
    clear: ClearOpt = False,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Set the agent's own phone, rung first for every call it places (audited)."""
    if (endpoint is None) == (not clear):
        raise fail("give --endpoint PJSIP/1001 or --clear")
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        phones.set_phone(session, login=login, endpoint=None if clear else endpoint, actor=ACTOR)
    shown = "cleared" if clear else f"set to {escape(str(endpoint))}"
    out.print(f"Phone of agent [bold]{escape(str(login))}[/] {shown}")


def agent_reinstate(login: LoginArg, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None) -> None:
    """Lift an agent's suspension; it logs in again."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        agents.reinstate(session, login=login, actor=ACTOR)
    out.print(f"Reinstated agent [bold]{escape(str(login))}[/]; it may log in again")


def agent_revoke_device(
    login: LoginArg, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None, json_out: JsonOpt = False
) -> None:
    """Revoke every device and token of an agent and print a new one-time enrolment code."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        code = agents.revoke_devices(session, login=login, actor=ACTOR)
    if json_out:
        print_json({"login": login, "enrolment_code": code})
        return
    out.print(f"Revoked the devices and sessions of [bold]{escape(str(login))}[/]")
    out.print(f"New enrolment code (one use, shown once): [bold]{escape(str(code))}[/]")


def agent_enrolment_code(
    login: LoginArg, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None, json_out: JsonOpt = False
) -> None:
    """Print a new one-time enrolment code for another device (older unused codes stop working; audited)."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        code = agents.give_enrolment_code(session, login=login, actor=ACTOR)
    if json_out:
        print_json({"login": login, "enrolment_code": code})
        return
    out.print(f"Enrolment code for [bold]{escape(str(login))}[/] (one use, shown once): [bold]{escape(str(code))}[/]")


def agent_reset_password(
    login: LoginArg,
    password_stdin: manage.PasswordStdin = False,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Give an agent a new password (generated and printed once unless read from stdin); its sessions end."""
    given = read_secret_stdin() if password_stdin else None
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        password = agents.reset_password(session, login=login, password=given, actor=ACTOR)
    print_new_password(login, password, generated=not password_stdin, json_out=json_out, ended="its sessions")


def campaign_list(data_dir: DataDirOpt = None, database_url: DbUrlOpt = None, json_out: JsonOpt = False) -> None:
    """List campaigns: contacts by state (canaries excluded), agents, created, erasure and retention."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        rows = campaigns.list_campaigns(session)
    if json_out:
        print_json({"campaigns": [_json_ready(asdict(r)) for r in rows]})
        return
    table = Table("campaign", "contacts", "agents", "created", "erased", "retention")
    for r in rows:
        counts = ", ".join(f"{state} {n}" for state, n in r.contacts.items()) or "-"
        retention = f"{r.retention_days} days after {_when(r.ends_at)}" if r.retention_days is not None else "kept"
        add_row(table, r.name, counts, str(r.agents), _when(r.created_at), _when(r.erased_at), retention)
    out.print(table if rows else "No campaigns.")


def outsourcer_list(data_dir: DataDirOpt = None, database_url: DbUrlOpt = None, json_out: JsonOpt = False) -> None:
    """List outsourcers: limits, site networks, shift and number of agents."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        rows = outsourcers.list_outsourcers(session)
    if json_out:
        print_json({"outsourcers": [_json_ready(asdict(r)) for r in rows]})
        return
    table = Table("outsourcer", "per hour", "per day", "networks", "shift", "agents")
    for r in rows:
        shift = f"{r.shift_start}-{r.shift_end}" if r.shift_start else "-"
        add_row(
            table,
            r.name,
            str(r.per_hour_limit or "policy"),
            str(r.per_day_limit or "policy"),
            " ".join(r.networks) or "anywhere",
            shift,
            str(r.agents),
        )
    out.print(table if rows else "No outsourcers.")


def outsourcer_set_limits(
    name: NameArg,
    per_hour: Annotated[int | None, typer.Option("--per-hour", help="Most records per agent per rolling hour.")] = None,
    per_day: Annotated[int | None, typer.Option("--per-day", help="Most records per agent per day.")] = None,
    clear: ClearOpt = False,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Tighten the campaign limits for an outsourcer's agents (the lowest applies); --clear removes them."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        org = outsourcers.set_limits(session, name=name, per_hour=per_hour, per_day=per_day, clear=clear, actor=ACTOR)
        hour, day = org.per_hour_limit, org.per_day_limit
    out.print(f"Limits of [bold]{escape(name)}[/]: {hour or 'policy'} an hour, {day or 'policy'} a day")


def outsourcer_set_networks(
    name: NameArg,
    cidrs: Annotated[list[str] | None, typer.Argument(help="Site networks, e.g. 192.0.2.0/24 2001:db8::/48.")] = None,
    clear: ClearOpt = False,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Set the networks an outsourcer's agents may log in from (IPv4/IPv6 CIDR); --clear allows anywhere."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        org = outsourcers.set_networks(session, name=name, cidrs=list(cidrs or []), clear=clear, actor=ACTOR)
        networks = outsourcers.networks_of(org)
    out.print(
        f"Networks of [bold]{escape(str(name))}[/]: {escape(str(' '.join(str(n) for n in networks) or 'anywhere'))}"
    )


def outsourcer_set_shift(
    name: NameArg,
    start: Annotated[str | None, typer.Option(help="Shift start, HH:MM (campaign time zone).")] = None,
    end: Annotated[str | None, typer.Option(help="Shift end, HH:MM (before start: spans midnight).")] = None,
    clear: ClearOpt = False,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Set an outsourcer's shift (work outside it is alerted); --clear removes it."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        org = outsourcers.set_shift(session, name=name, start=start, end=end, clear=clear, actor=ACTOR)
        shift = f"{org.shift_start}-{org.shift_end}" if org.shift_start else "none"
    out.print(f"Shift of [bold]{escape(str(name))}[/]: {escape(str(shift))}")


_COMMANDS: tuple[tuple[typer.Typer, str, Callable[..., None]], ...] = (
    (manage.agent_app, "list", agent_list),
    (manage.agent_app, "suspend", agent_suspend),
    (manage.agent_app, "reinstate", agent_reinstate),
    (manage.agent_app, "set-phone", agent_set_phone),
    (manage.agent_app, "revoke-device", agent_revoke_device),
    (manage.agent_app, "reset-password", agent_reset_password),
    (manage.agent_app, "enrolment-code", agent_enrolment_code),
    (manage.campaign_app, "list", campaign_list),
    (manage.outsourcer_app, "list", outsourcer_list),
    (manage.outsourcer_app, "set-limits", outsourcer_set_limits),
    (manage.outsourcer_app, "set-networks", outsourcer_set_networks),
    (manage.outsourcer_app, "set-shift", outsourcer_set_shift),
)


def register() -> None:
    """Add these commands to the ``agent``, ``campaign`` and ``outsourcer`` groups (safe to call more than once)."""
    for group, name, command in _COMMANDS:
        if name not in {c.name for c in group.registered_commands}:
            group.command(name)(command)
