"""Import pages: upload a file, preview and change its mapping, run it with a progress bar, read the report.

``GET /import`` (choose a campaign, upload) → ``POST /import/upload`` →
``GET /import/jobs/{id}`` (preview: encoding, delimiter, each column's field
as a choice, masked sample rows) → ``POST /import/preview`` (re-map) or
``POST /import/run`` → the same page with a progress bar polled through
``GET /import/jobs/{id}/progress`` until the full report. The run is
:func:`owner_server.lists.importer.import_file`, as ``custos-server import``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from owner_server.console.auth import require
from owner_server.console.import_preview import build_preview, field_options, overrides_from_form, policy_extras
from owner_server.console.jobs import ImportJob, JobStatus, find_job, new_job, start_job, sweep_jobs
from owner_server.console.permissions import Permission
from owner_server.console.render import render
from owner_server.console.state import ConsoleState, console_state
from owner_server.console.uploads import MAX_UPLOAD_BYTES, LimitedRoute, save_upload
from owner_server.identity.admin import get_campaign
from owner_server.identity.console_sessions import ConsolePrincipal
from owner_server.lists.importing.errors import ImportFileError
from owner_server.lists.importing.mapping import map_columns
from owner_server.lists.retention import retention_overview
from shared.errors import ValidationError
from shared.policy import CampaignPolicy

__all__ = ["router"]

router = APIRouter(route_class=LimitedRoute)

Importer = Annotated[ConsolePrincipal, Depends(require(Permission.IMPORT))]
State = Annotated[ConsoleState, Depends(console_state)]


def _extras(state: ConsoleState, campaign: str) -> list[str]:
    with state.transaction() as session:
        found = get_campaign(session, name=campaign)
        return policy_extras(CampaignPolicy.model_validate_json(found.policy_json))


def _start_page(request: Request, state: ConsoleState, principal: ConsolePrincipal, **extra: object) -> Response:
    with state.transaction() as session:
        campaigns = [c.name for c in retention_overview(session) if c.erased_at is None]
    mine = [j for j in state.jobs.values() if isinstance(j, ImportJob) and j.user_id == principal.user_id]
    context = {
        "campaigns": campaigns,
        "jobs": sorted(mine, key=lambda j: j.created, reverse=True),
        "max_mib": MAX_UPLOAD_BYTES // (1024 * 1024),
        "error": None,
        "chosen": "",
        **extra,
    }
    return render(request, "import/start.html", context, status=400 if context["error"] else 200)


@router.get("/import")
def import_start(request: Request, principal: Importer, state: State) -> Response:
    """Choose a campaign and upload a CSV or XLSX file."""
    sweep_jobs(state)
    return _start_page(request, state, principal)


@router.post("/import/upload")
async def import_upload(
    request: Request,
    principal: Importer,
    state: State,
    campaign: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "PL",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Store the upload privately, check that it can be read and mapped, and show its preview."""
    sweep_jobs(state)
    if file is None:
        return _start_page(request, state, principal, error="Choose a file to upload.", chosen=campaign)
    _extras(state, campaign)  # an unknown campaign is one sentence (404) before anything is stored
    path = await save_upload(file, state.settings.data_dir)
    job = new_job(state, user_id=principal.user_id, campaign=campaign, path=path, region=region.strip().upper())
    try:
        job.open()
    except ImportFileError as exc:
        path.unlink(missing_ok=True)
        state.jobs.pop(job.id, None)
        return _start_page(request, state, principal, error=exc.message, chosen=campaign)
    return RedirectResponse(f"/import/jobs/{job.id}", status_code=303)


def _chosen(form: FormData, width: int) -> dict[int, str]:
    chosen: dict[int, str] = {}
    for index in range(width):
        value = form.get(f"map_{index}")
        if isinstance(value, str):
            chosen[index] = value
    return chosen


async def _remap(request: Request, state: ConsoleState, job: ImportJob) -> dict[str, str]:
    """The overrides the posted ``<select>``s ask for (the file re-read without overrides first)."""
    auto = job.open(overrides={})
    extras = _extras(state, job.campaign)
    chosen = _chosen(await request.form(), len(auto.mapping.header))
    allowed = set(field_options(extras))
    if any(value not in allowed for value in chosen.values()):
        raise ValidationError("Choose each column's field from the list.")
    overrides = overrides_from_form(auto.mapping, chosen, extras)
    map_columns(auto.mapping.header, overrides)  # raises the sentence for a mapping that cannot work
    return overrides


@router.post("/import/preview")
async def import_preview(request: Request, principal: Importer, state: State, job: Annotated[str, Form()]) -> Response:
    """Apply the chosen mapping and show the preview again."""
    found = find_job(state, job, user_id=principal.user_id)
    if found.status is JobStatus.UPLOADED:
        try:
            found.overrides = await _remap(request, state, found)
            found.notice = None
        except ImportFileError as exc:
            found.notice = exc.message
    return RedirectResponse(f"/import/jobs/{found.id}", status_code=303)


@router.post("/import/run")
async def import_run(
    request: Request,
    principal: Importer,
    state: State,
    job: Annotated[str, Form()],
    dry_run: Annotated[str, Form()] = "",
    accept_float_artefacts: Annotated[str, Form()] = "",
) -> Response:
    """Start the import with the mapping and options on the page (in the background) and show its progress.

    ``accept_float_artefacts=1`` is the CLI's ``--accept-float-artefacts``: a phone's
    exact ``.0`` tail is dropped (and the record listed as repaired), other decimals
    are still rejected.
    """
    found = find_job(state, job, user_id=principal.user_id)
    if found.status is JobStatus.UPLOADED:
        found.accept_float_artefacts = accept_float_artefacts == "1"
        try:
            found.overrides = await _remap(request, state, found)
            opened = found.open()
        except ImportFileError as exc:
            found.notice = exc.message
            return RedirectResponse(f"/import/jobs/{found.id}", status_code=303)
        found.notice = None
        start_job(state, found, opened=opened, actor=principal.actor, dry_run=dry_run == "1")
    return RedirectResponse(f"/import/jobs/{found.id}", status_code=303)


@router.get("/import/jobs/{job_id}")
def import_job(request: Request, principal: Importer, state: State, job_id: str) -> Response:
    """The job's page: its preview before the run, then its progress and report."""
    job = find_job(state, job_id, user_id=principal.user_id)
    context: dict[str, object] = {"job": job, "preview": None}
    if job.status is JobStatus.UPLOADED:
        try:
            context["preview"] = build_preview(job.open(), _extras(state, job.campaign))
        except ImportFileError as exc:  # the saved overrides no longer fit (cannot happen) or the file vanished
            job.overrides, job.notice = {}, exc.message
            context["preview"] = build_preview(job.open(), _extras(state, job.campaign))
    return render(request, "import/job.html", context)


@router.get("/import/jobs/{job_id}/progress")
def import_progress(request: Request, principal: Importer, state: State, job_id: str) -> Response:
    """The progress bar (and, once ended, the report): the fragment the job page polls."""
    job = find_job(state, job_id, user_id=principal.user_id)
    return render(request, "import/_status.html", {"job": job})
