"""The console's reports page and its CSV and XLSX downloads, over real histories made through the agent API."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from owner_server.core.db import session_scope
from owner_server.identity import admin
from owner_server.models import Role
from tests.owner_server.audit.histories import build

#: A period around now in the server's zone (dates are inclusive), so the story's figures are all in it.
TODAY = datetime.now().astimezone().date()
PERIOD = {"since": (TODAY - timedelta(days=1)).isoformat(), "until": (TODAY + timedelta(days=1)).isoformat()}


@pytest.fixture
def history(installation):  # noqa: ANN201
    h = build(installation)
    with session_scope(installation.engine) as s:  # an idle agent whose login and organisation look like formulas
        admin.add_outsourcer(s, name="=HYPERLINK(1)", actor="test")
        admin.add_agent(s, login="@cmd", outsourcer="=HYPERLINK(1)", campaign="Camp", password="x" * 16, actor="test")
    return h


def _csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_the_page_shows_both_reports_for_the_period(history, console_as) -> None:
    page = console_as(Role.AUDITOR).get("/reports", params=PERIOD)
    assert page.status_code == 200, page.text
    assert "Agent report" in page.text and "Hourly report" in page.text
    assert "agent1" in page.text and "agent2" in page.text and "@cmd" in page.text
    assert "<code>sale</code>" in page.text and "<code>no_answer</code>" in page.text
    assert f"/reports/agents.csv?since={PERIOD['since']}" in page.text
    assert " style=" not in page.text and "<script>" not in page.text
    only = console_as(Role.ADMIN).get("/reports", params={**PERIOD, "outsourcer": "=HYPERLINK(1)"})
    assert "@cmd" in only.text and "agent1" not in only.text


def test_agent_report_csv_has_the_figures_and_neutralises_formulas(history, console_as) -> None:
    answer = console_as(Role.AUDITOR).get("/reports/agents.csv", params=PERIOD)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="custos-agents-')
    rows = {r["login"]: r for r in _csv(answer.content)}
    a1, a2 = rows["agent1"], rows["agent2"]
    assert (a1["issued"], a1["displayed"], a1["outcome:sale"], a1["outcome:no_answer"], a1["blocked"]) == (
        "2",
        "1",
        "1",
        "1",
        "1",
    )
    assert (a2["issued"], a2["outcome:sale"], a2["suspended"]) == ("2", "0", "no")
    assert a1["outsourcer"] == "BPO"
    idle = rows["'@cmd"]  # a leading apostrophe: shown as text, never run as a formula
    assert idle["outsourcer"] == "'=HYPERLINK(1)" and idle["issued"] == "0"


def test_hourly_csv_and_both_xlsx_downloads_parse(history, console_as) -> None:
    client = console_as(Role.ADMIN)
    hourly = _csv(client.get("/reports/hourly.csv", params=PERIOD).content)
    assert sum(int(r["issued"]) for r in hourly if r["login"] == "agent1") == 2
    assert all(r["hour_utc"].endswith(":00:00+00:00") for r in hourly)
    answer = client.get("/reports/agents.xlsx", params=PERIOD)
    assert answer.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert answer.headers["content-disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(answer.content)).active
    head, *body = list(sheet.iter_rows())
    names = [c.value for c in head]
    by_login = {row[names.index("login")].value: row for row in body}
    assert by_login["agent1"][names.index("issued")].value == "2"
    formula = by_login["@cmd"][names.index("login")]
    assert formula.data_type == "s" and formula.quotePrefix  # typed text, kept text when edited
    assert by_login["@cmd"][names.index("outsourcer")].value == "=HYPERLINK(1)"
    assert by_login["@cmd"][names.index("outsourcer")].data_type == "s"
    hourly_book = load_workbook(io.BytesIO(client.get("/reports/hourly.xlsx", params=PERIOD).content))
    assert hourly_book.sheetnames == ["hourly"]
    assert [c.value for c in next(hourly_book.active.iter_rows())][:2] == ["hour_utc", "login"]


@pytest.mark.parametrize(
    ("params", "status", "sentence"),
    [
        ({"since": "yesterday"}, 400, "ISO date"),
        ({"since": "2026-03-05", "until": "2026-03-01"}, 400, "before"),
        ({"outsourcer": "Nobody"}, 404, "Nobody"),
    ],
)
def test_a_bad_period_or_outsourcer_is_one_sentence(installation, console_as, params, status, sentence) -> None:
    client = console_as(Role.ADMIN)
    page = client.get("/reports", params=params)
    assert page.status_code == status and sentence in page.text and "Traceback" not in page.text
    download = client.get("/reports/agents.csv", params=params)
    assert download.status_code == status and "content-disposition" not in download.headers


def test_a_supervisor_gets_no_report(installation, console_as) -> None:
    supervisor = console_as(Role.SUPERVISOR)
    for path in ("/reports", "/reports/agents.csv", "/reports/hourly.xlsx"):
        assert supervisor.get(path).status_code == 403, path
