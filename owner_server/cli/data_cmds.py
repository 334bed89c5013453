"""``export``, ``erase``, ``campaign erase``, ``campaign set-retention`` and ``retention run``.

Reports name campaigns and contact refs and give counts; they never print
personal data (the phone or customer id asked for is not echoed either).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer

from owner_server.cli import manage
from owner_server.cli.common import (
    DataDirOpt,
    DbUrlOpt,
    JsonOpt,
    confirm_or_fail,
    fail,
    installation,
    out,
    print_json,
)
from owner_server.core.db import session_scope
from owner_server.lists.erasure import (
    CampaignErasure,
    ErasureReason,
    erase_by_customer_id,
    erase_by_phone,
    erase_campaign,
)
from owner_server.lists.erasure_notes import MAX_NOTE_CHARS, check_note, read_note
from owner_server.lists.export import export_campaign
from owner_server.lists.retention import run_retention, set_retention
from owner_server.models._common import utcnow
from shared.errors import ValidationError

__all__ = [
    "campaign_erase",
    "erase",
    "erasure_app",
    "erasure_show",
    "export",
    "register",
    "retention_app",
    "retention_run",
    "set_retention_cmd",
]

ACTOR = "admin:cli"
retention_app = typer.Typer(help="Automatic erasure after a campaign ends.", no_args_is_help=True)
ReasonOpt = Annotated[
    ErasureReason, typer.Option(help="Why the data is erased: a reason code (recorded in the audit log).")
]
NoteOpt = Annotated[
    str | None,
    typer.Option(
        help=f"Free text on the erasure (at most {MAX_NOTE_CHARS} characters); may name the person: "
        "stored encrypted, the audit log gets only its id and SHA-256; read it with 'erasure show NOTE_ID'."
    ),
]
erasure_app = typer.Typer(help="Notes given with erasures.", no_args_is_help=True)


def export(
    campaign: Annotated[str, typer.Option(help="The campaign to export.")],
    out_file: Annotated[Path, typer.Option("--out", help="Target file; .csv or .xlsx decides the format.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Export a campaign's contacts with their outcomes (owner admins only; audited)."""
    with installation(data_dir, database_url) as inst:
        report = export_campaign(inst.engine, inst.keys, campaign=campaign, out=out_file, actor=ACTOR, force=force)
    if json_out:
        print_json(asdict(report))
    else:
        out.print(
            f"Exported [bold]{report.contacts}[/] contacts ({report.erased} erased) of {report.campaign} "
            f"to {report.path} ({report.file_format}, {report.columns} columns, mode 0600)"
        )


def erase(
    phone: Annotated[str | None, typer.Option(help="The contact's phone, in any common format.")] = None,
    customer_id: Annotated[str | None, typer.Option("--customer-id", help="The contact's customer id.")] = None,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign (default: all).")] = None,
    region: Annotated[str, typer.Option(help="Region of a national phone number (ISO 3166 code).")] = "PL",
    reason: ReasonOpt = ErasureReason.DATA_SUBJECT_REQUEST,
    note: NoteOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Erase a person's contacts so their personal data cannot be recovered (audited)."""
    if (phone is None) == (customer_id is None):
        raise fail("give exactly one of --phone and --customer-id")
    try:
        note = check_note(note)  # before the database: a bad note is one line and changes nothing
    except ValidationError as exc:
        raise fail(f"--note: {exc.message}", error_code=exc.code.value) from None
    with installation(data_dir, database_url) as inst:
        if phone is not None:
            report = erase_by_phone(
                inst.engine, inst.keys, phone=phone, region=region, campaign=campaign, reason=reason, note=note,
                actor=ACTOR,
            )  # fmt: skip
        else:
            assert customer_id is not None
            report = erase_by_customer_id(
                inst.engine, inst.keys, customer_id=customer_id, campaign=campaign, reason=reason, note=note,
                actor=ACTOR,
            )  # fmt: skip
    if json_out:
        print_json({"erased": len(report.contact_refs), **asdict(report)})
        return
    if not report.contact_refs:
        out.print("No live contact matched; nothing was erased" + (" and the note was not kept." if note else "."))
        return
    out.print(f"Erased [bold]{len(report.contact_refs)}[/] contact(s), closed {report.leases_closed} open lease(s):")
    for ref in report.contact_refs:
        out.print(f"  {ref}")
    for ref in report.note_refs:
        out.print(f"Note stored encrypted as {ref} (custos-server erasure show {ref})")
    if not report.storage_scrubbed:
        out.print("Note: the SQLite WAL could not be truncated now (a reader was active); a later checkpoint will.")


@erasure_app.command("show")
def erasure_show(
    note_id: Annotated[
        str, typer.Argument(help="The note's id, as 'erase' printed it or a contact_erased entry holds it.")
    ],
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the note given with an erasure and check it against the audit log (owner admins; audited)."""
    with installation(data_dir, database_url) as inst:
        view = read_note(inst.engine, inst.keys, ref=note_id, actor=ACTOR)
    if json_out:
        print_json(asdict(view))
        return
    state = "matches" if view.intact else "DOES NOT MATCH"
    out.print(f"Note {view.ref} on campaign [bold]{view.campaign}[/], by {view.actor} at {view.created_at.isoformat()}")
    out.print(
        f"Contacts: {', '.join(view.contact_refs) or '(no audit entry references it)'}; hash {state} the audit log"
    )
    out.print(view.note, markup=False, highlight=False)


def _print_campaign(result: CampaignErasure) -> None:
    if result.already_erased:
        out.print(f"Campaign [bold]{result.campaign}[/] was erased already; nothing to do.")
        return
    out.print(
        f"Erased campaign [bold]{result.campaign}[/]: {result.data_keys_destroyed} data key(s) destroyed, "
        f"{result.contacts_erased} contact(s) erased, {result.leases_closed} open lease(s) closed"
    )


def campaign_erase(
    name: Annotated[str, typer.Argument(help="The campaign to erase.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    reason: ReasonOpt = ErasureReason.OTHER,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Destroy a campaign's data keys and erase its contacts; irreversible (audited)."""
    confirm_or_fail(
        f"Erase campaign '{name}' and destroy its keys? This cannot be undone",
        yes=yes,
        nothing_done="nothing was erased",
    )
    with installation(data_dir, database_url) as inst:
        result = erase_campaign(inst.engine, inst.keys, name=name, reason=reason, actor=ACTOR)
    if json_out:
        print_json(asdict(result))
    else:
        _print_campaign(result)


def _parse_end(text: str) -> datetime:
    """A date means the end of that day (UTC); a date-time needs an offset."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime.combine(day + timedelta(days=1), time(), UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--ends-at takes a date (2026-01-31) or a date-time with offset, got '{text}'") from None
    if moment.tzinfo is None:
        raise fail("--ends-at needs a UTC offset with a time (e.g. 2026-01-31T18:00+01:00), or give a date")
    return moment


def set_retention_cmd(
    name: Annotated[str, typer.Argument(help="The campaign.")],
    ends_at: Annotated[str, typer.Option("--ends-at", help="When the campaign ends: a date (end of day, UTC).")],
    days: Annotated[int, typer.Option("--days", help="Days after the end when its contacts are erased.")],
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Set when a campaign ends and how many days later its contacts are erased (audited)."""
    end = _parse_end(ends_at)
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        set_retention(session, name=name, ends_at=end, days=days, actor=ACTOR)
    erase_on = end + timedelta(days=days)
    if json_out:
        print_json({"campaign": name, "ends_at": end.isoformat(), "days": days, "erased_after": erase_on.isoformat()})
    else:
        out.print(f"Campaign [bold]{name}[/] ends {end.isoformat()}; contacts erased after {erase_on.isoformat()}")


@retention_app.command("run")
def retention_run(data_dir: DataDirOpt = None, database_url: DbUrlOpt = None, json_out: JsonOpt = False) -> None:
    """Erase every campaign whose retention period has passed (idempotent; audited)."""
    with installation(data_dir, database_url) as inst:
        results = run_retention(inst.engine, inst.keys, utcnow(), actor=ACTOR)
    if json_out:
        print_json({"campaigns_erased": [asdict(r) for r in results]})
        return
    if not results:
        out.print("No campaign is due for erasure.")
    for result in results:
        _print_campaign(result)


def register(app: typer.Typer) -> None:
    """Add these commands to the ``custos-server`` tree (safe to call more than once)."""
    app.command("export")(export)
    app.command("erase")(erase)
    app.add_typer(retention_app, name="retention")
    app.add_typer(erasure_app, name="erasure")
    names = {c.name for c in manage.campaign_app.registered_commands}
    if "erase" not in names:
        manage.campaign_app.command("erase")(campaign_erase)
    if "set-retention" not in names:
        manage.campaign_app.command("set-retention")(set_retention_cmd)
