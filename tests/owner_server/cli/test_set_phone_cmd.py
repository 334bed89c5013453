"""``agent set-phone``: the agent's own phone endpoint, audited, shown in ``agent list``; on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from owner_server.cli.main import build_app
from owner_server.models import AuditEntry, User

from ..helpers import seed


@pytest.fixture
def run(any_installation, monkeypatch):
    seed(any_installation, agents=("agent1",))
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(any_installation.settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    app, runner = build_app(), CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def _phone(inst) -> str | None:
    with Session(inst.engine) as session:
        return session.exec(select(User).where(User.login == "agent1")).one().phone_endpoint


def test_set_phone_is_stored_audited_and_listed(run, any_installation):
    done = run("agent", "set-phone", "agent1", "--endpoint", "PJSIP/1001")
    assert done.exit_code == 0, done.output
    assert _phone(any_installation) == "PJSIP/1001"
    listed = json.loads(run("agent", "list", "--json").output)["agents"]
    assert listed[0]["phone"] == "PJSIP/1001"
    assert "PJSIP/1001" in run("agent", "list").output
    with Session(any_installation.engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "agent_phone_set")).one()
    assert json.loads(entry.details) == {"technology": "PJSIP", "cleared": False}
    assert run("agent", "set-phone", "agent1", "--clear").exit_code == 0
    assert _phone(any_installation) is None


@pytest.mark.parametrize(
    "args",
    [
        ("agent1", "--endpoint", "1001"),
        ("agent1", "--endpoint", "PJSIP/10 01"),
        ("agent1",),
        ("agent1", "--endpoint", "PJSIP/1001", "--clear"),
        ("nobody", "--endpoint", "PJSIP/1001"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(run, any_installation, args):
    done = run("agent", "set-phone", *args)
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output and done.output.strip().count("\n") == 0
    assert _phone(any_installation) is None
