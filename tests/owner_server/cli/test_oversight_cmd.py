"""``lookup`` and ``report`` through the CLI over real histories (made through the agent API)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from owner_server.cli.main import build_app
from owner_server.core.db import session_scope
from owner_server.identity import admin
from owner_server.models import AuditEntry

from ..audit.histories import build
from ..audit.test_reports import _place


def _runner(inst, monkeypatch):
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(inst.settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    app, runner = build_app(), CliRunner()

    def run(*args):
        return runner.invoke(app, list(args))

    return run


@pytest.fixture
def story(installation, monkeypatch):
    h = build(installation)
    _place(installation, h)
    return h, _runner(installation, monkeypatch)


def _json(result):
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _one_line_error(result, *needles):
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_lookup_on_both_databases_names_agent_device_and_address(any_installation, monkeypatch):
    h = build(any_installation)
    run = _runner(any_installation, monkeypatch)
    data = _json(run("lookup", "--phone", h.phones["B"], "--json"))
    [contact] = data["contacts"]
    assert contact["contact_ref"] == h.refs["B"] and contact["campaign"] == "Camp"
    a1, a2 = h.agents["agent1"], h.agents["agent2"]
    assert [(e["action"], e["agent"], e["device"], e["address"]) for e in contact["events"]] == [
        ("record_issued", "agent2", a2.device_id, a2.address),
        ("lease_expired", "agent2", a2.device_id, a2.address),
        ("record_issued", "agent1", a1.device_id, a1.address),
        ("disposition_recorded", "agent1", a1.device_id, a1.address),
    ]
    assert all(e["outsourcer"] == "BPO" for e in contact["events"])


def test_lookup_prints_a_timeline_table_and_is_audited(story, installation):
    h, run = story
    result = run("lookup", "--phone", h.phones["A"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    for needle in (h.refs["A"], "record_issued", "record_hidden", "duration_ms=4200", "detail=copy", "code=sale"):
        assert needle in text
    assert "agent1" in text and h.agents["agent1"].address in text and "pc (" in text
    assert h.phones["A"] not in text and h.phones["A"][3:] not in text
    with Session(installation.engine) as s:
        entry = s.exec(select(AuditEntry).order_by(col(AuditEntry.seq).desc())).first()
    assert (entry.action, entry.actor) == ("lookup", "admin:cli")
    assert json.loads(entry.details)["matched"] == 1 and h.phones["A"][3:] not in entry.details


def test_lookup_of_a_trap_number_names_who_saw_it(story):
    h, run = story
    [contact] = _json(run("lookup", "--phone", h.phones["C"], "--json"))["contacts"]
    assert {e["agent"] for e in contact["events"]} == {"agent2"}


def test_lookup_by_customer_id_and_contact(story):
    h, run = story
    by_ref = _json(run("lookup", "--contact", h.refs["A"], "--json"))
    assert by_ref["contacts"][0]["contact_ref"] == h.refs["A"]
    assert _json(run("lookup", "--customer-id", "C-3", "--campaign", "Camp", "--json"))["contacts"]


def test_no_match_is_said_and_exits_0(story):
    _, run = story
    result = run("lookup", "--phone", "+48 501 999 999")
    assert result.exit_code == 0 and "No contact matches." in result.stdout
    assert _json(run("lookup", "--contact", "f" * 32, "--json")) == {"contacts": []}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--phone", "12345"), "phone"),
        (("--phone", "+48 500 000 001", "--region", "XX"), "region"),
        (("--phone", "+48 500 000 001", "--contact", "ab"), "exactly one"),
        ((), "exactly one"),
        (("--customer-id", " "), "empty"),
        (("--phone", "+48 500 000 001", "--campaign", "Nope"), "Nope"),
    ],
)
def test_lookup_bad_input_is_one_line_exit_2_and_not_audited(story, installation, args, needle):
    _, run = story
    with Session(installation.engine) as s:
        before = len(s.exec(select(AuditEntry.seq)).all())
    result = run("lookup", *args)
    _one_line_error(result, needle)
    assert "12345" not in result.stderr
    with Session(installation.engine) as s:
        assert len(s.exec(select(AuditEntry.seq)).all()) == before


DAY_ARGS = ("--since", "2026-03-02", "--until", "2026-03-02", "--tz", "UTC")


def test_report_agents_json_and_table(story):
    _, run = story
    data = _json(run("report", "agents", *DAY_ARGS, "--json"))
    assert (data["since"], data["until"]) == ("2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00")
    agent1 = next(a for a in data["agents"] if a["login"] == "agent1")
    assert (agent1["issued"], agent1["outcomes"], agent1["median_handling_s"]) == (2, {"no_answer": 1, "sale": 1}, 60.0)
    table = run("report", "agents", *DAY_ARGS, "--outsourcer", "BPO")
    assert table.exit_code == 0 and "agent1" in table.stdout and "outcome:sale" in table.stdout


def test_report_hourly_json(story):
    _, run = story
    hours = _json(run("report", "hourly", *DAY_ARGS, "--json"))["hours"]
    assert [(r["hour"], r["login"], r["issued"]) for r in hours] == [
        ("2026-03-02T10:00:00+00:00", "agent1", 1),
        ("2026-03-02T10:00:00+00:00", "agent2", 1),
        ("2026-03-02T11:00:00+00:00", "agent1", 1),
        ("2026-03-02T11:00:00+00:00", "agent2", 1),
    ]


def test_report_csv_is_bom_semicolon_and_formula_safe(story, installation, tmp_path):
    _, run = story
    with session_scope(installation.engine) as s:
        admin.add_outsourcer(s, name="=HYPERLINK(1)", actor="test")
        admin.add_agent(s, login="agent3", outsourcer="=HYPERLINK(1)", campaign="Camp", password="x" * 16, actor="t")
    target = tmp_path / "agents.csv"
    result = run("report", "agents", *DAY_ARGS, "--csv", str(target))
    assert result.exit_code == 0, result.stderr
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "login",
        "outsourcer",
        "issued",
        "displayed",
        "outcome:no_answer",
        "outcome:sale",
        "median_handling_s",
        "blocked",
        "alerts",
        "suspended",
    ]
    by_login = {r[0]: r for r in rows[1:]}
    assert by_login["agent1"] == ["agent1", "BPO", "2", "1", "1", "1", "60", "1", "0", "no"]
    assert by_login["agent2"][-2:] == ["1", "yes"]
    assert by_login["agent3"][1] == "'=HYPERLINK(1)"


def test_report_campaigns_leaves_canaries_out(story):
    _, run = story
    assert _json(run("report", "campaigns", "--json")) == {
        "campaigns": [{"campaign": "Camp", "total": 2, "states": {"done": 1, "new": 1}}]
    }  # the no_answer contact waits for its retry (new), the sale is done


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("agents", "--since", "last week"), "--since"),
        (("agents", "--until", "2026-02-30"), "--until"),
        (("agents", "--since", "2026-03-03", "--until", "2026-03-02"), "before"),
        (("agents", "--tz", "Mars/Olympus"), "time zone"),
        (("agents", "--outsourcer", "Nobody"), "Nobody"),
        (("hourly", "--json", "--csv", "x.csv"), "at most one"),
    ],
)
def test_report_bad_input_is_one_line_exit_2(story, args, needle):
    _, run = story
    _one_line_error(run("report", *args), needle)
