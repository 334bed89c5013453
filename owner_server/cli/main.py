"""Entry point of ``custos-server``."""

from __future__ import annotations

import importlib
import os
import sys

import typer

from shared.errors import CustosError

__all__ = ["build_app", "main"]

#: Top-level groups whose every command lives in one module, as ``name: (module, Typer attribute)``.
#: ``custos-server NAME ...`` imports only that module: ``audit verify`` then starts without the
#: server app, the importer and the console (about 60% of the whole tree's import time).
ALONE = {
    "audit": ("audit_cmd", "audit_app"),
    "alerts": ("alerts_cmd", "alerts_app"),
    "dnc": ("dnc_cmd", "dnc_app"),
    "canary": ("canary_cmd", "canary_app"),
    "keys": ("keys_cmd", "keys_app"),
    "deployment": ("deployment_cmd", "deployment_app"),
    "release": ("release_cmd", "release_app"),
}


def _root() -> typer.Typer:
    return typer.Typer(
        name="custos-server",
        help="Custos owner server: keep customer lists with their owner.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )


def build_alone(name: str) -> typer.Typer:
    """The command tree with only the top-level group ``name`` (a key of :data:`ALONE`).

    Raises:
        KeyError: ``name`` is not a group that stands alone.
    """
    module, attribute = ALONE[name]
    app = _root()
    app.add_typer(getattr(importlib.import_module(f"owner_server.cli.{module}"), attribute), name=name)
    return app


def build_app() -> typer.Typer:
    """Assemble the whole command tree."""
    from owner_server.cli import (  # noqa: PLC0415 - imported here so a lone group loads only its own module
        alerts_cmd,
        audit_cmd,
        canary_cmd,
        console_users_cmd,
        data_cmds,
        demo,
        deployment_cmd,
        dnc_cmd,
        identity_cmds,
        imports,
        keys_cmd,
        manage,
        oversight_cmd,
        release_cmd,
        setup,
        watermark_cmd,
    )

    app = _root()
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
    from owner_server.cli import errors  # noqa: PLC0415 - see build_app
    from owner_server.cli.common import fail  # noqa: PLC0415

    first = sys.argv[1] if len(sys.argv) > 1 else ""
    app = build_alone(first) if first in ALONE else build_app()
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
