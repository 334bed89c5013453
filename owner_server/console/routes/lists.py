"""The lists page: DNC upload, export download, erasure by phone or customer id, retention.

Each form calls the service ``custos-server`` calls (``dnc import``,
``export``, ``erase``, ``campaign set-retention``); the services write the
audit entries with the admin as actor. Phones and customer ids are POSTed
and never echoed, logged or put in a URL.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, RedirectResponse, Response

from owner_server.console.auth import require
from owner_server.console.jobs import sweep_jobs
from owner_server.console.permissions import Permission
from owner_server.console.render import render
from owner_server.console.state import ConsoleState, console_state
from owner_server.console.uploads import MAX_UPLOAD_BYTES, LimitedRoute, new_private_path, save_upload
from owner_server.identity.console_sessions import ConsolePrincipal
from owner_server.lists import suppression
from owner_server.lists.erasure import ErasureReason, erase_by_customer_id, erase_by_phone
from owner_server.lists.erasure_notes import MAX_NOTE_CHARS, read_note
from owner_server.lists.export import export_campaign
from owner_server.lists.importing.pipeline import file_sha256, phone_rows
from owner_server.lists.retention import retention_overview, set_retention
from shared.errors import ValidationError

__all__ = ["router"]

router = APIRouter(route_class=LimitedRoute)

Dnc = Annotated[ConsolePrincipal, Depends(require(Permission.DNC))]
Exporter = Annotated[ConsolePrincipal, Depends(require(Permission.EXPORT))]
Eraser = Annotated[ConsolePrincipal, Depends(require(Permission.ERASURE))]
State = Annotated[ConsoleState, Depends(console_state)]

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/lists")
def lists_page(request: Request, principal: Dnc, state: State) -> Response:
    """The DNC, export, erasure and retention forms, with each campaign's retention."""
    sweep_jobs(state)
    with state.transaction() as session:
        campaigns = retention_overview(session)
    context = {
        "campaigns": campaigns,
        "live": [c.name for c in campaigns if c.erased_at is None],
        "reasons": [r.value for r in ErasureReason],
        "max_note": MAX_NOTE_CHARS,
        "max_mib": MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, "lists/page.html", context)


@router.post("/lists/dnc")
async def dnc_upload(
    request: Request,
    principal: Dnc,
    state: State,
    region: Annotated[str, Form()] = "PL",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Add the numbers of a file to the do-not-call list; show added, already listed and rejected."""
    if file is None:
        raise ValidationError("Choose a file to upload.")
    path = await save_upload(file, state.settings.data_dir)
    try:
        report = suppression.import_dnc(
            state.engine,
            keys=state.keys,
            rows=phone_rows(path, region=region.strip().upper()),
            source_sha256=file_sha256(path),
            actor=principal.actor,
        )
    except UnicodeDecodeError:
        raise ValidationError("A .txt list must be UTF-8 text, one number a line.") from None
    finally:
        path.unlink(missing_ok=True)
    return render(request, "lists/dnc_report.html", {"report": report})


def _download_name(campaign: str, file_format: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", campaign).strip("-") or "campaign"
    return f"{slug}-{date.today().isoformat()}.{file_format}"


@router.post("/lists/export")
def export_download(
    principal: Exporter,
    state: State,
    campaign: Annotated[str, Form()],
    confirm: Annotated[str, Form()] = "",
    file_format: Annotated[str, Form()] = "csv",
) -> Response:
    """Export a campaign (CSV or XLSX) as a download; the admin retypes the campaign's name first."""
    if confirm.strip() != campaign:
        raise ValidationError("Type the campaign's name exactly to confirm the export; nothing was exported.")
    if file_format not in _MEDIA:
        raise ValidationError("Choose CSV or XLSX.")
    out = new_private_path(state.settings.data_dir, f".{file_format}")
    report = export_campaign(state.engine, state.keys, campaign=campaign, out=out, actor=principal.actor)
    return FileResponse(
        report.path,
        media_type=_MEDIA[file_format],
        filename=_download_name(report.campaign, file_format),
        background=BackgroundTask(Path(report.path).unlink, missing_ok=True),
    )


@router.post("/lists/erase")
def erase(
    request: Request,
    principal: Eraser,
    state: State,
    value: Annotated[str, Form()],
    by: Annotated[str, Form()] = "phone",
    campaign: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = ErasureReason.DATA_SUBJECT_REQUEST.value,
    region: Annotated[str, Form()] = "PL",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Erase a person's contacts by phone or customer id (audited; the value and the note are never echoed).

    A non-blank ``note`` is stored encrypted (:mod:`owner_server.lists.erasure_notes`)
    and shown to admins on ``/lists/notes/{ref}``.
    """
    try:
        why = ErasureReason(reason)
    except ValueError:
        raise ValidationError("Choose a reason from the list.") from None
    if not value.strip():
        raise ValidationError("Give the phone number or customer id to erase.")
    scope, text = campaign.strip() or None, note if note.strip() else None
    if by == "phone":
        report = erase_by_phone(
            state.engine,
            state.keys,
            phone=value,
            region=region.strip().upper(),
            campaign=scope,
            reason=why,
            note=text,
            actor=principal.actor,
        )
    elif by == "customer_id":
        report = erase_by_customer_id(
            state.engine,
            state.keys,
            customer_id=value.strip(),
            campaign=scope,
            reason=why,
            note=text,
            actor=principal.actor,
        )
    else:
        raise ValidationError("Erase by phone or by customer id.")
    return render(request, "lists/erase_report.html", {"report": report, "by": by})


@router.get("/lists/notes/{ref}")
def erasure_note(request: Request, principal: Eraser, state: State, ref: str) -> Response:
    """An erasure's note, checked against its audit entries (reading it is audited ``erasure_note_read``)."""
    view = read_note(state.engine, state.keys, ref=ref, actor=principal.actor)
    return render(request, "lists/note.html", {"note": view})


def _end_of_day(text: str) -> datetime:
    """A date (``YYYY-MM-DD``) means the end of that day, UTC, as ``campaign set-retention --ends-at`` takes it."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError("Give the campaign's end as a date (YYYY-MM-DD).") from None
    return datetime.combine(day + timedelta(days=1), time(), UTC)


@router.post("/lists/retention")
def retention(
    principal: Eraser,
    state: State,
    campaign: Annotated[str, Form()],
    ends_at: Annotated[str, Form()],
    days: Annotated[int, Form(ge=0)],
) -> Response:
    """Set when a campaign ends and how many days later its contacts are erased (audited)."""
    end = _end_of_day(ends_at)
    with state.transaction() as session:
        set_retention(session, name=campaign, ends_at=end, days=days, actor=principal.actor)
    return RedirectResponse("/lists#retention", status_code=303)
