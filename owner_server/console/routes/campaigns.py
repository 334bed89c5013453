"""Campaigns: the list, a new campaign, the field policy as a form with a live preview of the agent's view, TOML.

Reading needs ``CAMPAIGNS_VIEW`` (auditors read), changing ``CAMPAIGNS_EDIT``
(admins). Saving goes through the CLI's services
(:func:`owner_server.identity.admin.create_campaign`,
:func:`owner_server.identity.campaigns.update_policy`) and the policy file's
validation; a bad value re-shows the form as typed with one sentence, and
nothing is stored. The preview is built by the function ``/next`` uses, on
a synthetic record (:mod:`owner_server.work.preview`).
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from owner_server.console.auth import require
from owner_server.console.campaign_form import (
    CHECKS,
    KINDS,
    RULES,
    SCALARS,
    FormInput,
    PolicyForm,
    form_from_policy,
    form_from_request,
)
from owner_server.console.campaign_policy import policy_from_form
from owner_server.console.permissions import Permission, allowed
from owner_server.console.render import render
from owner_server.console.state import ConsoleState, console_state
from owner_server.identity.admin import create_campaign, get_campaign
from owner_server.identity.campaigns import list_campaigns, update_policy
from owner_server.identity.console_sessions import ConsolePrincipal
from owner_server.identity.policy_text import parse_policy_toml, policy_toml
from owner_server.work.preview import AgentPreview, preview_record
from shared.containment import Weekday
from shared.errors import STATUS_BY_CODE, CustosError
from shared.policy import CampaignPolicy, FieldMode, MaskRule

__all__ = ["router"]

router = APIRouter()

View = Annotated[ConsolePrincipal, Depends(require(Permission.CAMPAIGNS_VIEW))]
Edit = Annotated[ConsolePrincipal, Depends(require(Permission.CAMPAIGNS_EDIT))]
State = Annotated[ConsoleState, Depends(console_state)]


def _starter() -> CampaignPolicy:
    """A new campaign's form: the demo campaign's outcomes, everything else the lawful defaults."""
    demo = parse_policy_toml(resources.files("owner_server.demo").joinpath("policy.toml").read_text(encoding="utf-8"))
    return CampaignPolicy(dispositions=demo.dispositions)


def _url(name: str) -> str:
    return "/campaigns/" + quote(name, safe="")


async def _posted(request: Request) -> FormInput:
    form = await request.form()
    return FormInput([(key, value) for key, value in form.multi_items() if isinstance(value, str)])


def _page(
    request: Request,
    principal: ConsolePrincipal,
    *,
    name: str,
    form: PolicyForm,
    preview: AgentPreview | None,
    toml: str,
    is_new: bool = False,
    erased: bool = False,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "name": name,
        "form": form,
        "preview": preview,
        "toml": toml,
        "is_new": is_new,
        "erased": erased,
        "error": error,
        "notice": notice,
        "can_edit": allowed(principal.role, Permission.CAMPAIGNS_EDIT) and not erased,
        "action": "/campaigns/new" if is_new else _url(name),
        "preview_url": "/campaigns/new/preview" if is_new else _url(name) + "/preview",
        "modes": [m.value for m in FieldMode],
        "masks": [m.value for m in MaskRule],
        "kinds": KINDS,
        "days": [d.value for d in Weekday],
        "rules": RULES,
        "scalars": SCALARS,
        "checks": CHECKS,
    }
    return render(request, "campaigns/edit.html", context, status=status)


@router.get("/campaigns")
def campaigns_list(request: Request, principal: View, state: State) -> Response:
    """Every campaign: contacts by state, agents, outsourcers, retention."""
    with state.transaction() as session:
        rows = list_campaigns(session)
    can_create = allowed(principal.role, Permission.CAMPAIGNS_EDIT)
    return render(request, "campaigns/list.html", {"rows": rows, "can_create": can_create, "url": _url})


@router.get("/campaigns/new")
def campaign_new(request: Request, principal: Edit) -> Response:
    """The form of a new campaign (the starter policy)."""
    starter = _starter()
    preview = preview_record(starter, campaign="")
    return _page(request, principal, name="", form=form_from_policy(starter), preview=preview, toml="", is_new=True)


@router.post("/campaigns/new")
async def campaign_create(request: Request, principal: Edit, state: State) -> Response:
    """Create a campaign from the form (audited ``campaign_created``); a bad value re-shows the form."""
    data = await _posted(request)
    form, name = form_from_request(data), data.one("name").strip()
    try:
        policy = policy_from_form(form, base=_starter())
        with state.transaction() as session:
            create_campaign(session, name=name, policy=policy, keys=state.keys, actor=principal.actor)
    except CustosError as exc:
        return _page(
            request, principal, name=name, form=form, preview=None, toml="", is_new=True,
            error=exc.message, status=STATUS_BY_CODE[exc.code],
        )  # fmt: skip
    return RedirectResponse(_url(name) + "?saved=created", status_code=303)


@router.post("/campaigns/new/preview")
async def campaign_new_preview(request: Request, principal: Edit) -> Response:
    """The agent's view of a sample record under the new campaign's form (htmx fragment, nothing saved)."""
    return await _preview(request, name=(await _posted(request)).one("name"), base=_starter())


async def _preview(request: Request, *, name: str, base: CampaignPolicy) -> Response:
    data = await _posted(request)
    sample = int(data.one("sample")) if data.one("sample").isdigit() else 0
    try:
        policy = policy_from_form(form_from_request(data), base=base) if data.has("d0_code") else base
    except CustosError as exc:
        return render(request, "campaigns/preview.html", {"preview_error": exc.message, "preview": None})
    preview = preview_record(policy, campaign=name, sample=sample)
    return render(request, "campaigns/preview.html", {"preview": preview, "preview_url": request.url.path})


def _stored(state: ConsoleState, name: str) -> tuple[CampaignPolicy, bool]:
    with state.transaction() as session:
        campaign = get_campaign(session, name=name)
        return CampaignPolicy.model_validate_json(campaign.policy_json), campaign.erased_at is not None


_NOTICES = {"created": "The campaign was created.", "saved": "Saved: agents get it with their next record."}


@router.get("/campaigns/{name}")
def campaign_show(request: Request, principal: View, state: State, name: str, saved: str = "") -> Response:
    """The campaign's policy as a form (read-only for auditors), with the agent's view of a sample record."""
    policy, erased = _stored(state, name)
    notice = _NOTICES.get(saved, "Nothing changed." if saved == "unchanged" else "")
    return _page(
        request, principal, name=name, form=form_from_policy(policy), preview=preview_record(policy, campaign=name),
        toml=policy_toml(policy), erased=erased, notice=notice,
    )  # fmt: skip


def _saved(name: str, sections: list[str]) -> Response:
    return RedirectResponse(_url(name) + ("?saved=saved" if sections else "?saved=unchanged"), status_code=303)


@router.post("/campaigns/{name}")
async def campaign_save(request: Request, principal: Edit, state: State, name: str) -> Response:
    """Save the form as the campaign's policy (audited ``campaign_policy_changed``), or re-show it with the error."""
    base, _ = _stored(state, name)
    form = form_from_request(await _posted(request))
    try:
        policy = policy_from_form(form, base=base)
        with state.transaction() as session:
            sections = update_policy(session, name=name, policy=policy, actor=principal.actor)
    except CustosError as exc:
        form.other_codes = form_from_policy(base).other_codes
        return _page(
            request, principal, name=name, form=form, preview=None, toml=policy_toml(base),
            error=exc.message, status=STATUS_BY_CODE[exc.code],
        )  # fmt: skip
    return _saved(name, sections)


@router.post("/campaigns/{name}/preview")
async def campaign_preview(request: Request, principal: View, state: State, name: str) -> Response:
    """The agent's view of a sample record under the form's current values (htmx fragment, nothing saved)."""
    base, _ = _stored(state, name)
    return await _preview(request, name=name, base=base)


@router.get("/campaigns/{name}/policy.toml")
def campaign_policy_toml(principal: View, state: State, name: str) -> Response:
    """The policy as the TOML file ``campaign create --policy`` and ``campaign set-policy`` read."""
    policy, _ = _stored(state, name)
    filename = quote(f"{name}.policy.toml", safe="")
    headers = {"Content-Disposition": f"attachment; filename=\"policy.toml\"; filename*=UTF-8''{filename}"}
    return Response(policy_toml(policy), media_type="application/toml; charset=utf-8", headers=headers)


@router.post("/campaigns/{name}/policy.toml")
async def campaign_policy_upload(request: Request, principal: Edit, state: State, name: str) -> Response:
    """Replace the policy with pasted TOML (the CLI's ``set-policy``); a bad file changes nothing."""
    base, _ = _stored(state, name)
    text = (await _posted(request)).one("policy_toml")
    try:
        policy = parse_policy_toml(text)
        with state.transaction() as session:
            sections = update_policy(session, name=name, policy=policy, actor=principal.actor)
    except CustosError as exc:
        return _page(
            request, principal, name=name, form=form_from_policy(base), preview=None, toml=text,
            error=exc.message, status=STATUS_BY_CODE[exc.code],
        )  # fmt: skip
    return _saved(name, sections)
