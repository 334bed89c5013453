"""Console users from the command line: ``supervisor add`` and ``admin reset-totp|suspend|reinstate|reset-password``.

Thin: parse, open the installation, call :mod:`owner_server.identity.console_users`
in one transaction (audited there), print. Bad input is one line and exit
status 2, and changes nothing. A generated password is printed once.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from owner_server.cli import manage
from owner_server.cli.common import (
    DataDirOpt,
    DbUrlOpt,
    JsonOpt,
    installation,
    out,
    print_json,
    print_new_password,
    read_secret_stdin,
)
from owner_server.core.db import session_scope
from owner_server.identity import console_users

__all__ = ["register", "supervisor_app"]

ACTOR = manage.ACTOR
supervisor_app = typer.Typer(help="Outsourcer supervisors (console users of an outsourcer).", no_args_is_help=True)
LoginArg = Annotated[str, typer.Argument(help="The console user's login.")]


@supervisor_app.command("add")
def supervisor_add(
    login: str,
    outsourcer: Annotated[str, typer.Option(help="The supervisor's outsourcer.")],
    password_stdin: manage.PasswordStdin = False,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an outsourcer supervisor; it enrols TOTP at its first console login."""
    password = read_secret_stdin() if password_stdin else None
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        new = console_users.add_supervisor(session, login=login, outsourcer=outsourcer, password=password, actor=ACTOR)
    shown = new.password if new.password_generated else None
    if json_out:
        print_json({"login": new.user.login, "role": "supervisor", "outsourcer": outsourcer, "password": shown})
        return
    out.print(f"Created supervisor [bold]{escape(new.user.login)}[/] of {escape(outsourcer)}")
    if shown:
        out.print(f"Password (shown once): {escape(shown)}")


def admin_reset_totp(login: LoginArg, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None) -> None:
    """Forget a console user's authenticator (lost device): recovery codes void, sessions ended."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        ended = console_users.reset_totp(session, login=login, actor=ACTOR)
    out.print(
        f"Reset the authenticator of [bold]{escape(login)}[/] ({ended} console sessions ended); "
        "the next login sets up a new one"
    )


def admin_suspend(
    login: LoginArg,
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit log; no personal data).")],
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Suspend a console user (admin, auditor, supervisor): its console sessions end now."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        ended = console_users.set_suspended(session, login=login, suspended=True, reason=reason, actor=ACTOR)
    out.print(f"Suspended [bold]{escape(login)}[/] ({ended} console sessions ended)")


def admin_reinstate(login: LoginArg, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None) -> None:
    """Lift a console user's suspension."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        console_users.set_suspended(session, login=login, suspended=False, reason="", actor=ACTOR)
    out.print(f"Reinstated [bold]{escape(login)}[/]; it may log in again")


def admin_reset_password(
    login: LoginArg,
    password_stdin: manage.PasswordStdin = False,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Give a console user a new password (generated and printed once unless read from stdin); its sessions end."""
    given = read_secret_stdin() if password_stdin else None
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        password = console_users.reset_console_password(session, login=login, password=given, actor=ACTOR)
    print_new_password(login, password, generated=not password_stdin, json_out=json_out, ended="its console sessions")


_ADMIN = (
    ("reset-totp", admin_reset_totp),
    ("suspend", admin_suspend),
    ("reinstate", admin_reinstate),
    ("reset-password", admin_reset_password),
)


def register(app: typer.Typer) -> None:
    """Add ``supervisor`` to ``app`` and these commands to the ``admin`` group (safe to call more than once)."""
    names = {c.name for c in manage.admin_app.registered_commands}
    for name, command in _ADMIN:
        if name not in names:
            manage.admin_app.command(name)(command)
    app.add_typer(supervisor_app, name="supervisor")
