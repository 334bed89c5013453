"""``admin``, ``outsourcer``, ``campaign`` and ``agent`` commands."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated

import pydantic
import typer

from owner_server.cli.common import (
    DataDirOpt,
    DbUrlOpt,
    JsonOpt,
    fail,
    installation,
    out,
    print_json,
    read_secret_stdin,
)
from owner_server.db import session_scope
from owner_server.models import Role
from owner_server.services import admin
from owner_server.services.passwords import generate_password
from shared.errors import CustosError
from shared.policy import CampaignPolicy

__all__ = ["admin_app", "agent_app", "campaign_app", "load_policy", "outsourcer_app"]

ACTOR = "admin:cli"
admin_app = typer.Typer(help="Owner console users.", no_args_is_help=True)
outsourcer_app = typer.Typer(help="Outsourcer organisations.", no_args_is_help=True)
campaign_app = typer.Typer(help="Campaigns and their field policies.", no_args_is_help=True)
agent_app = typer.Typer(help="Outsourcer agents.", no_args_is_help=True)
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin instead of generating one.")
]


def load_policy(path: Path) -> CampaignPolicy:
    """Read a campaign policy from a TOML or JSON file.

    Raises:
        typer.Exit: The file is unreadable or invalid (message printed).
    """
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        return CampaignPolicy.model_validate(raw)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        detail = (
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            if isinstance(exc, pydantic.ValidationError)
            else str(exc)
        )
        raise fail(f"policy file {path.name} is not valid: {detail}") from None


@admin_app.command("create")
def admin_create(
    login: str,
    data_dir: DataDirOpt = None,
    role: Annotated[Role, typer.Option(help="admin or auditor.")] = Role.ADMIN,
    password_stdin: PasswordStdin = False,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an owner admin or auditor."""
    if role not in (Role.ADMIN, Role.AUDITOR):
        raise fail("owner users are admins or auditors")
    password = read_secret_stdin() if password_stdin else generate_password()
    with installation(data_dir, database_url) as inst:
        try:
            with session_scope(inst.engine) as session:
                user = admin.create_user(session, login=login, role=role, password=password, actor=ACTOR)
        except CustosError as exc:
            raise fail(exc.message) from None
    report = {"login": user.login, "role": role.value, "password": None if password_stdin else password}
    if json_out:
        print_json(report)
    else:
        out.print(f"Created {role.value} [bold]{user.login}[/]")
        if not password_stdin:
            out.print(f"Password (shown once): {password}")


@outsourcer_app.command("add")
def outsourcer_add(
    name: str, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None, json_out: JsonOpt = False
) -> None:
    """Register an outsourcer organisation."""
    with installation(data_dir, database_url) as inst:
        try:
            with session_scope(inst.engine) as session:
                org = admin.add_outsourcer(session, name=name, actor=ACTOR)
        except CustosError as exc:
            raise fail(exc.message) from None
    if json_out:
        print_json({"outsourcer": org.name, "id": org.id})
    else:
        out.print(f"Added outsourcer [bold]{org.name}[/]")


@campaign_app.command("create")
def campaign_create(
    name: str,
    policy: Annotated[Path, typer.Option("--policy", help="Field policy file (TOML or JSON).")],
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a campaign with its field policy and a fresh data key."""
    parsed = load_policy(policy)
    with installation(data_dir, database_url) as inst:
        try:
            with session_scope(inst.engine) as session:
                campaign = admin.create_campaign(session, name=name, policy=parsed, keys=inst.keys, actor=ACTOR)
        except CustosError as exc:
            raise fail(exc.message) from None
    if json_out:
        print_json({"campaign": campaign.name, "id": campaign.id})
    else:
        out.print(f"Created campaign [bold]{campaign.name}[/]")


@agent_app.command("add")
def agent_add(
    login: str,
    outsourcer: Annotated[str, typer.Option(help="The agent's outsourcer.")],
    campaign: Annotated[str, typer.Option(help="The campaign the agent works.")],
    data_dir: DataDirOpt = None,
    password_stdin: PasswordStdin = False,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an agent and print its one-time enrolment code (and generated password)."""
    password = read_secret_stdin() if password_stdin else None
    with installation(data_dir, database_url) as inst:
        try:
            with session_scope(inst.engine) as session:
                new = admin.add_agent(
                    session, login=login, outsourcer=outsourcer, campaign=campaign, password=password, actor=ACTOR
                )
        except CustosError as exc:
            raise fail(exc.message) from None
    shown = new.password if new.password_generated else None
    if json_out:
        print_json({"login": new.user.login, "enrolment_code": new.enrolment_code, "password": shown})
        return
    out.print(f"Created agent [bold]{new.user.login}[/]")
    out.print(f"Enrolment code (one use): [bold]{new.enrolment_code}[/]")
    if shown:
        out.print(f"Password (shown once): {shown}")
