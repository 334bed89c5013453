"""``lookup`` and ``report agents|hourly|campaigns``: the owner's answers.

``lookup`` never echoes the phone or customer id it was given; reports print
logins, organisations and counts only.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table

from owner_server.audit.lookup import LookupResult, lookup
from owner_server.audit.report_table import outcome_codes, report_cells, report_header, report_table
from owner_server.audit.reports import (
    AgentFigures,
    Period,
    agent_report,
    campaign_progress,
    hourly_report,
    parse_period,
)
from owner_server.cli.common import DataDirOpt, DbUrlOpt, JsonOpt, add_row, fail, installation, out, print_json
from owner_server.core.db import session_scope
from owner_server.lists.export import write_csv
from owner_server.lists.matching import match_contacts

__all__ = ["lookup_cmd", "register", "report_app"]

ACTOR = "admin:cli"
report_app = typer.Typer(help="Per-agent and per-campaign reports.", no_args_is_help=True)

SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Start: ISO date or date-time (local time unless an offset is given).")
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="End: ISO date (included) or date-time; default: end of today.")
]
OutsourcerOpt = Annotated[str | None, typer.Option("--outsourcer", help="Only this organisation's agents.")]
CsvOpt = Annotated[Path | None, typer.Option("--csv", help="Write a CSV file (UTF-8 with BOM, ';').")]
TzOpt = Annotated[
    str | None, typer.Option("--tz", help="Time zone of dates and plain date-times (default: this machine's).")
]


def _event_rows(result: LookupResult) -> None:
    if not result.contacts:
        out.print("No contact matches.")
        return
    for contact in result.contacts:
        table = Table(title=f"contact {contact.contact_ref} · {contact.campaign}", title_justify="left")
        for name in ("time (UTC)", "action", "agent", "outsourcer", "device", "address", "details"):
            table.add_column(name, no_wrap=name != "details")
        for e in contact.events:
            extras = {k: v for k, v in e.details.items() if k not in ("lease_id", "device_name")}
            device = f"{e.details['device_name']} ({e.device[:8]})" if "device_name" in e.details and e.device else ""
            add_row(
                table,
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                e.action,
                e.agent or e.actor,
                e.outsourcer or "",
                device or (e.device or ""),
                e.address or "",
                " ".join(f"{k}={v}" for k, v in extras.items()),
            )
        if not contact.events:
            table.caption = "no events"
        out.print(table)


def lookup_cmd(
    phone: Annotated[str | None, typer.Option("--phone", help="A phone number, in any common format.")] = None,
    customer_id: Annotated[str | None, typer.Option("--customer-id", help="The owner's customer id.")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="A contact ref.")] = None,
    campaign: Annotated[str | None, typer.Option("--campaign", help="Only this campaign (default: all).")] = None,
    region: Annotated[str, typer.Option(help="Region of a national phone number (ISO 3166 code).")] = "PL",
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Every contact of a person and its whole history: who got, saw and closed it, from where (audited).

    No match is an answer, not an error: it prints so (``--json``: an empty list) and exits 0.
    """
    if sum(v is not None for v in (phone, customer_id, contact)) != 1:
        raise fail("give exactly one of --phone, --customer-id and --contact")
    with installation(data_dir, database_url) as inst:
        match = match_contacts(
            inst.engine,
            inst.keys,
            phone=phone,
            customer_id=customer_id,
            contact_ref=contact,
            campaign=campaign,
            region=region,
        )
        with session_scope(inst.engine) as session:
            result = lookup(
                session, contact_ids=match.contact_ids, by=match.by, actor=ACTOR, campaign_id=match.campaign_id
            )
    if json_out:
        print_json(result.as_json())
    else:
        _event_rows(result)


def _zone(name: str | None) -> tzinfo:
    if name is None:
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(f"unknown time zone '{name}' (use an IANA name such as Europe/Warsaw)") from None


def _emit(rows: list[AgentFigures], period: Period, *, hourly: bool, json_out: bool, csv_file: Path | None) -> None:
    codes = outcome_codes(rows)
    if csv_file is not None:
        try:
            with csv_file.open("wb") as fh:
                write_csv(fh, report_table(rows, hourly=hourly))
        except OSError as exc:
            raise fail(f"cannot write {csv_file}: {exc.strerror}") from None
        out.print(f"Wrote {len(rows)} row(s) to {csv_file}")
        return
    if json_out:
        key = "hours" if hourly else "agents"
        span = {"since": period.since.isoformat(), "until": period.until.isoformat()}
        print_json({**span, key: [r.as_json() for r in rows]})
        return
    title = f"{'hourly' if hourly else 'agents'} · {period.since.isoformat()} → {period.until.isoformat()} (UTC)"
    table = Table(title=title, title_justify="left")
    for name in report_header(codes, hourly=hourly):
        table.add_column(name, justify="right" if name not in ("login", "outsourcer", "hour_utc") else "left")
    for r in rows:
        add_row(table, *report_cells(r, codes, hourly=hourly))
    out.print(table if rows else "No agent activity in this period.")


def _report(
    *,
    hourly: bool,
    since: str | None,
    until: str | None,
    tz: str | None,
    outsourcer: str | None,
    data_dir: Path | None,
    database_url: str | None,
    json_out: bool,
    csv_file: Path | None,
) -> None:
    if json_out and csv_file is not None:
        raise fail("give at most one of --json and --csv")
    zone = _zone(tz)
    with installation(data_dir, database_url) as inst:
        period = parse_period(since=since, until=until, tz=zone)
        with session_scope(inst.engine) as session:
            build = hourly_report if hourly else agent_report
            rows = build(session, period=period, outsourcer=outsourcer)
    _emit(rows, period, hourly=hourly, json_out=json_out, csv_file=csv_file)


@report_app.command("agents")
def report_agents(
    since: SinceOpt = None,
    until: UntilOpt = None,
    outsourcer: OutsourcerOpt = None,
    tz: TzOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
    csv_file: CsvOpt = None,
) -> None:
    """Per agent: records issued and displayed, outcomes, median handling time, blocked actions, alerts."""
    _report(
        hourly=False,
        since=since,
        until=until,
        tz=tz,
        outsourcer=outsourcer,
        data_dir=data_dir,
        database_url=database_url,
        json_out=json_out,
        csv_file=csv_file,
    )


@report_app.command("hourly")
def report_hourly(
    since: SinceOpt = None,
    until: UntilOpt = None,
    outsourcer: OutsourcerOpt = None,
    tz: TzOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
    csv_file: CsvOpt = None,
) -> None:
    """The same figures per agent per UTC hour (hours with nothing left out)."""
    _report(
        hourly=True,
        since=since,
        until=until,
        tz=tz,
        outsourcer=outsourcer,
        data_dir=data_dir,
        database_url=database_url,
        json_out=json_out,
        csv_file=csv_file,
    )


@report_app.command("campaigns")
def report_campaigns(
    campaign: Annotated[str | None, typer.Option("--campaign", help="Only this campaign.")] = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Campaign progress: real contacts per state (canary contacts are not counted)."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        rows = campaign_progress(session, campaign=campaign)
    if json_out:
        print_json({"campaigns": [{"campaign": r.campaign, "total": r.total, "states": r.states} for r in rows]})
        return
    states = sorted({s for r in rows for s in r.states})
    table = Table(title="campaigns", title_justify="left")
    for name in ("campaign", "total", *states):
        table.add_column(name, justify="left" if name == "campaign" else "right")
    for r in rows:
        add_row(table, r.campaign, str(r.total), *(str(r.states.get(s, 0)) for s in states))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``lookup`` and ``report`` to the ``custos-server`` tree."""
    app.command("lookup")(lookup_cmd)
    app.add_typer(report_app, name="report")
