"""``admin``, ``outsourcer``, ``campaign`` and ``agent`` commands."""

from __future__ import annotations

import json
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pydantic
import typer
from rich.markup import escape

from owner_server.cli.common import (
    DataDirOpt,
    DbUrlOpt,
    JsonOpt,
    err_console,
    fail,
    installation,
    out,
    print_json,
    read_secret_stdin,
)
from owner_server.core.db import session_scope
from owner_server.identity import admin
from owner_server.identity.campaigns import update_policy
from owner_server.identity.passwords import generate_password
from owner_server.identity.policy_text import input_problems, phone_fields_shown, policy_problems, policy_toml
from owner_server.models import Role
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
    """Read a campaign policy from a TOML or JSON file, warning about phone fields.

    Raises:
        typer.Exit: The file is missing, unreadable or invalid (message printed).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail(f"policy file {path} not found") from None
    except (OSError, UnicodeDecodeError):
        raise fail(f"policy file {path} cannot be read as UTF-8 text") from None
    as_json = path.suffix.lower() == ".json"
    try:
        raw = json.loads(text) if as_json else tomllib.loads(text)
        policy = CampaignPolicy.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise fail(f"policy file {path.name} is not valid:\n  " + "\n  ".join(policy_problems(exc))) from None
    except ValueError as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        kind = "JSON" if as_json else "TOML (a policy file is TOML, or JSON when named .json)"
        raise fail(f"policy file {path.name} is not valid {kind}: {exc}") from None
    problems = input_problems(policy)
    if problems:
        raise fail(f"policy file {path.name} is not valid:\n  " + "\n  ".join(problems))
    for name in phone_fields_shown(policy):
        err_console.print(
            f"[yellow]warning:[/] '{name}' is a phone field; agents never see phone numbers, it stays hidden"
        )
    return policy


class OwnerRole(StrEnum):
    """Roles of owner console users."""

    ADMIN = "admin"
    AUDITOR = "auditor"


@admin_app.command("create")
def admin_create(
    login: str,
    data_dir: DataDirOpt = None,
    role: Annotated[OwnerRole, typer.Option(help="Console role.")] = OwnerRole.ADMIN,
    password_stdin: PasswordStdin = False,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an owner admin or auditor."""
    password = read_secret_stdin() if password_stdin else generate_password()
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        user = admin.create_user(session, login=login, role=Role(role.value), password=password, actor=ACTOR)
    report = {"login": user.login, "role": role.value, "password": None if password_stdin else password}
    if json_out:
        print_json(report)
    else:
        out.print(f"Created {escape(str(role.value))} [bold]{escape(str(user.login))}[/]")
        if not password_stdin:
            out.print(f"Password (shown once): {escape(str(password))}")


@outsourcer_app.command("add")
def outsourcer_add(
    name: str, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None, json_out: JsonOpt = False
) -> None:
    """Register an outsourcer organisation."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        org = admin.add_outsourcer(session, name=name, actor=ACTOR)
    if json_out:
        print_json({"outsourcer": org.name, "id": org.id})
    else:
        out.print(f"Added outsourcer [bold]{escape(str(org.name))}[/]")


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
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        campaign = admin.create_campaign(session, name=name, policy=parsed, keys=inst.keys, actor=ACTOR)
    if json_out:
        print_json({"campaign": campaign.name, "id": campaign.id})
    else:
        out.print(f"Created campaign [bold]{escape(str(campaign.name))}[/]")


@campaign_app.command("set-policy")
def campaign_set_policy(
    name: str,
    policy: Annotated[Path, typer.Option("--policy", help="Field policy file (TOML or JSON).")],
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Replace a campaign's policy (from the next issuance on); audited with the sections that changed."""
    parsed = load_policy(policy)
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        sections = update_policy(session, name=name, policy=parsed, actor=ACTOR)
    if json_out:
        print_json({"campaign": name, "changed": sections})
    elif sections:
        out.print(f"Policy of [bold]{escape(name)}[/] changed: {escape(', '.join(sections))}")
    else:
        out.print(f"Policy of [bold]{escape(name)}[/] is unchanged")


@campaign_app.command("show-policy")
def campaign_show_policy(name: str, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None) -> None:
    """Print a campaign's policy as TOML (``set-policy`` and ``create --policy`` read it back)."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        campaign = admin.get_campaign(session, name=name)
        text = policy_toml(CampaignPolicy.model_validate_json(campaign.policy_json))
    typer.echo(text, nl=False)


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
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        new = admin.add_agent(
            session, login=login, outsourcer=outsourcer, campaign=campaign, password=password, actor=ACTOR
        )
    shown = new.password if new.password_generated else None
    if json_out:
        print_json({"login": new.user.login, "enrolment_code": new.enrolment_code, "password": shown})
        return
    out.print(f"Created agent [bold]{escape(str(new.user.login))}[/]")
    out.print(f"Enrolment code (one use): [bold]{escape(str(new.enrolment_code))}[/]")
    if shown:
        out.print(f"Password (shown once): {escape(str(shown))}")
