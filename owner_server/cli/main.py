"""Entry point of ``custos-server``."""

from __future__ import annotations

import os
import sys

import typer

from owner_server.cli import (
    alerts_cmd,
    audit_cmd,
    canary_cmd,
    console_users_cmd,
    data_cmds,
    demo,
    deployment_cmd,
    dnc_cmd,
    errors,
    identity_cmds,
    imports,
    keys_cmd,
    manage,
    oversight_cmd,
    release_cmd,
    setup,
    watermark_cmd,
)
from owner_server.cli.common import fail
from shared.errors import CustosError

__all__ = ["build_app", "main"]


def build_app() -> typer.Typer:
    """Assemble the command tree."""
    app = typer.Typer(
        name="custos-server",
        help="Custos owner server: keep customer lists with their owner.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.command()(setup.init)
    app.command()(setup.serve)
    app.add_typer(manage.admin_app, name="admin")
    app.add_typer(manage.outsourcer_app, name="outsourcer")
    app.add_typer(manage.campaign_app, name="campaign")
    app.add_typer(manage.agent_app, name="agent")
    app.add_typer(audit_cmd.audit_app, name="audit")
    app.add_typer(alerts_cmd.alerts_app, name="alerts")
    app.command("import")(imports.import_file)
    app.add_typer(dnc_cmd.dnc_app, name="dnc")
    app.add_typer(canary_cmd.canary_app, name="canary")
    app.add_typer(keys_cmd.keys_app, name="keys")
    app.add_typer(deployment_cmd.deployment_app, name="deployment")
    app.add_typer(release_cmd.release_app, name="release")
    app.command()(demo.demo)
    data_cmds.register(app)
    identity_cmds.register()
    oversight_cmd.register(app)
    console_users_cmd.register(app)
    watermark_cmd.register(app)
    return app


def main() -> None:
    """Run the CLI: whatever a command did not foresee is one line and exit status 2, never a traceback."""
    app = build_app()
    try:
        app()
    except CustosError as exc:
        fail(exc.message, error_code=exc.code.value)
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence; CUSTOS_DEBUG=1 re-raises
        if os.environ.get("CUSTOS_DEBUG") == "1":
            raise
        code, message = errors.describe(exc)
        fail(message, error_code=code)
    sys.exit(2)
