"""Reports: the agent report and the hourly report for a period, on the page and as CSV or XLSX downloads.

The figures are the CLI's (:mod:`owner_server.audit.reports`), the files
the CLI's ``--csv`` table (:mod:`owner_server.audit.report_table`) written by
the export's formula-safe writers. Reports hold logins, organisations and
counts only; like ``custos-server report``, viewing or downloading one is
not audited.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from owner_server.audit.report_table import outcome_codes, report_table
from owner_server.audit.reports import AgentFigures, Period, agent_report, hourly_report, parse_period
from owner_server.console.auth import require
from owner_server.console.permissions import Permission
from owner_server.console.render import local_zone, render
from owner_server.console.state import ConsoleState, console_state
from owner_server.identity.console_sessions import ConsolePrincipal
from owner_server.identity.outsourcers import list_outsourcers
from owner_server.lists.export import write_csv, write_xlsx
from shared.errors import STATUS_BY_CODE, NotFoundError, ValidationError

__all__ = ["router"]

router = APIRouter()

Reader = Annotated[ConsolePrincipal, Depends(require(Permission.REPORTS))]
State = Annotated[ConsoleState, Depends(console_state)]
Since = Annotated[str, Query(max_length=40)]
Outsourcer = Annotated[str, Query(max_length=120)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _build(
    state: ConsoleState, *, since: str, until: str, outsourcer: str, hourly: bool
) -> tuple[Period, list[AgentFigures]]:
    """The period and rows (raises ValidationError / NotFoundError for a bad period or outsourcer)."""
    period = parse_period(since=since.strip() or None, until=until.strip() or None, tz=local_zone())
    with state.transaction() as session:
        build = hourly_report if hourly else agent_report
        return period, build(session, period=period, outsourcer=outsourcer.strip() or None)


@router.get("/reports")
def reports_page(
    request: Request, principal: Reader, state: State, since: Since = "", until: Since = "", outsourcer: Outsourcer = ""
) -> Response:
    """Both reports for the period (default: today), optionally for one outsourcer."""
    with state.transaction() as session:
        outsourcers = [o.name for o in list_outsourcers(session)]
    context: dict[str, object] = {"since": since, "until": until, "outsourcer": outsourcer, "outsourcers": outsourcers}
    try:
        period, agents = _build(state, since=since, until=until, outsourcer=outsourcer, hourly=False)
        _, hours = _build(state, since=since, until=until, outsourcer=outsourcer, hourly=True)
    except (ValidationError, NotFoundError) as exc:
        return render(request, "reports/index.html", {**context, "error": exc.message}, status=STATUS_BY_CODE[exc.code])
    context.update(
        period=period,
        agents=agents,
        hours=hours,
        agent_codes=outcome_codes(agents),
        hour_codes=outcome_codes(hours),
        query=request.url.query,
    )
    return render(request, "reports/index.html", context)


def _filename(which: str, period: Period, suffix: str) -> str:
    zone = local_zone()
    first = period.since.astimezone(zone).strftime("%Y%m%d-%H%M")
    last = period.until.astimezone(zone).strftime("%Y%m%d-%H%M")
    return f"custos-{which}-{first}-{last}.{suffix}"


@router.get("/reports/{which}.{suffix}")
def report_download(
    principal: Reader,
    state: State,
    which: Literal["agents", "hourly"],
    suffix: Literal["csv", "xlsx"],
    since: Since = "",
    until: Since = "",
    outsourcer: Outsourcer = "",
) -> Response:
    """The report as a file: CSV (UTF-8 with BOM, ``;``) or XLSX, every cell formula-safe."""
    hourly = which == "hourly"
    period, rows = _build(state, since=since, until=until, outsourcer=outsourcer, hourly=hourly)
    buffer = io.BytesIO()
    table = report_table(rows, hourly=hourly)
    if suffix == "csv":
        write_csv(buffer, table)
        media = "text/csv; charset=utf-8"
    else:
        write_xlsx(buffer, table, sheet=which)
        media = XLSX
    disposition = f'attachment; filename="{_filename(which, period, suffix)}"'
    return Response(buffer.getvalue(), media_type=media, headers={"Content-Disposition": disposition})
