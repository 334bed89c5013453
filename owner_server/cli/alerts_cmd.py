"""``alerts list`` and ``alerts ack``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from owner_server.audit import log as audit
from owner_server.audit.alerts import AlertView, ack_alert, list_alerts
from owner_server.audit.delivery import AlertMessage, build_channels
from owner_server.audit.delivery.errors import safe_reason
from owner_server.cli.common import (
    DataDirOpt,
    DbUrlOpt,
    JsonOpt,
    add_row,
    err_console,
    fail,
    installation,
    out,
    print_json,
)
from owner_server.core.db import session_scope
from owner_server.models._common import new_ref, utcnow

__all__ = ["alerts_app"]

ACTOR = "admin:cli"
alerts_app = typer.Typer(help="Alerts raised by the anomaly rules.", no_args_is_help=True)


def _delivery_text(view: AlertView) -> str:
    if not view.deliveries:
        return "-"
    parts = []
    for d in view.deliveries:
        parts.append(f"{d.channel} sent" if d.status == "sent" else f"{d.channel} pending ({d.attempts} tries)")
    return ", ".join(parts)


@alerts_app.command("list")
def alerts_list(
    data_dir: DataDirOpt = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only alerts not yet acknowledged.")] = False,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show alerts, newest first, with their delivery to each channel."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        views = list_alerts(session, open_only=open_only)
    if json_out:
        print_json({"alerts": [v.model_dump(mode="json") for v in views]})
        return
    if not views:
        out.print("no open alerts" if open_only else "no alerts")
        return
    table = Table("id", "raised (UTC)", "rule", "action", "agent", "outsourcer", "status", "delivery")
    for v in views:
        add_row(
            table,
            v.ref[:12],
            v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            v.rule,
            v.action,
            v.agent or "-",
            v.outsourcer or "-",
            v.status,
            _delivery_text(v),
        )
    out.print(table)


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[str, typer.Argument(metavar="ID", help="The alert id from 'alerts list' (12+ digits).")],
    note: Annotated[str, typer.Option("--note", help="What was done about it (up to 500 characters).")],
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Acknowledge an alert with a note (audited)."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        alert = ack_alert(session, ref=alert_id, note=note, actor=ACTOR)
    if json_out:
        print_json({"ref": alert.ref, "status": alert.status, "acked_at": alert.acked_at, "acked_by": alert.acked_by})
    else:
        out.print(f"Acknowledged alert [bold]{alert.ref[:12]}[/] ({alert.rule})")


@alerts_app.command("test")
def alerts_test(data_dir: DataDirOpt = None, database_url: DbUrlOpt = None, json_out: JsonOpt = False) -> None:
    """Send a test message to every configured channel now; exit 1 if any fails (audited)."""
    with installation(data_dir, database_url) as inst:
        channels = build_channels(inst.settings.alerts)
        if not channels:
            raise fail("no alert channel is configured ([alerts.email], [alerts.webhook] or [alerts.syslog])")
        message = AlertMessage(
            ref=new_ref(),
            rule="test",
            action="alert",
            agent=None,
            outsourcer=None,
            campaign=None,
            raised_at=utcnow(),
            organisation=inst.settings.organisation,
            figures={"test": True},
        )
        results: dict[str, str | None] = {}
        for channel in channels:
            try:
                channel.send(message)
                results[channel.name] = None
            except Exception as exc:  # noqa: BLE001 - reported per channel
                results[channel.name] = safe_reason(exc)
        with session_scope(inst.engine) as session:
            details: dict[str, audit.Detail] = {name: err or "sent" for name, err in results.items()}
            audit.append(
                session,
                actor=ACTOR,
                action="alert_channels_tested",
                object_type="alert",
                object_id=message.ref,
                details=details,
            )
    if json_out:
        print_json({"ref": message.ref, "channels": {n: {"ok": e is None, "error": e} for n, e in results.items()}})
    else:
        for name, err in results.items():
            if err is None:
                out.print(f"{name}: sent (test alert {message.ref[:12]})")
            else:
                err_console.print(f"[bold red]{name}: failed[/] {err}")
    if any(err is not None for err in results.values()):
        raise typer.Exit(1)
