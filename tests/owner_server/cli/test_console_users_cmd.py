"""``supervisor add`` and ``admin create|reset-totp|suspend|reinstate|reset-password`` through the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from owner_server.cli.demo import DEMO_ADMIN, prepare_demo
from owner_server.cli.main import build_app
from owner_server.core.datadir import open_installation
from owner_server.core.db import session_scope
from owner_server.identity import console_login
from owner_server.identity.admin import add_outsourcer
from owner_server.identity.console_sessions import resolve_console_session, start_console_session
from owner_server.models import AuditEntry, ConsoleSession, ConsoleStage, RecoveryCode, Role, User


@pytest.fixture
def cli(installation, monkeypatch):
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(installation.settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    with session_scope(installation.engine) as session:
        add_outsourcer(session, name="Acme", actor="admin:test")
    app, runner = build_app(), CliRunner()

    def run(*args: str, stdin: str | None = None):  # noqa: ANN202
        return runner.invoke(app, list(args), input=stdin)

    return run


def _logs_in(installation, login: str, password: str) -> bool:
    with session_scope(installation.engine) as session:
        token = console_login.check_password(
            session, keys=installation.keys, login=login, password=password, address="127.0.0.1"
        )
    return token is not None


def test_supervisor_add_with_a_generated_password(installation, cli) -> None:
    made = cli("supervisor", "add", "sup", "--outsourcer", "Acme", "--json")
    assert made.exit_code == 0, made.output
    report = json.loads(made.stdout)
    assert report["role"] == "supervisor" and len(report["password"]) >= 16
    with session_scope(installation.engine) as session:
        user = session.exec(select(User).where(User.login == "sup")).one()
        assert user.role is Role.SUPERVISOR and user.outsourcer_id is not None
    assert _logs_in(installation, "sup", report["password"])


def test_supervisor_add_reads_the_password_from_stdin(installation, cli) -> None:
    made = cli("supervisor", "add", "sup", "--outsourcer", "Acme", "--password-stdin", stdin="supervisor-password\n")
    assert made.exit_code == 0 and "shown once" not in made.output and "supervisor-password" not in made.output
    assert _logs_in(installation, "sup", "supervisor-password")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("supervisor", "add", "sup2", "--outsourcer", "Nobody"), "outsourcer 'Nobody' not found"),
        (("supervisor", "add", "sup", "--outsourcer", "Acme"), "already exists"),
        (("supervisor", "add", "bad login", "--outsourcer", "Acme"), "a login is"),
    ],
)
def test_supervisor_add_refusals_exit_2(installation, cli, args, message) -> None:
    assert cli("supervisor", "add", "sup", "--outsourcer", "Acme").exit_code == 0
    refused = cli(*args)
    assert refused.exit_code == 2 and message in refused.output and "Traceback" not in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    with session_scope(installation.engine) as session:
        assert len(session.exec(select(User)).all()) == 1


def test_admin_create_makes_users_that_log_in(installation, cli) -> None:
    for role in ("admin", "auditor"):
        made = cli("admin", "create", f"{role}1", "--role", role, "--json")
        assert made.exit_code == 0
        assert _logs_in(installation, f"{role}1", json.loads(made.stdout)["password"])


def test_reset_totp_clears_the_secret_and_codes_and_ends_sessions(installation, cli) -> None:
    made = json.loads(cli("admin", "create", "anna", "--json").stdout)
    assert _logs_in(installation, "anna", made["password"])
    with session_scope(installation.engine) as session:
        user = session.exec(select(User).where(User.login == "anna")).one()
        assert user.totp_secret is not None
        session.add(RecoveryCode(user_id=user.id, code_hash="x"))
        user.totp_enrolled_at = datetime.now(UTC)
        live = start_console_session(session, user=user, address="", stage=ConsoleStage.ACTIVE).token
    done = cli("admin", "reset-totp", "anna")
    assert done.exit_code == 0 and "console sessions ended" in done.output
    with session_scope(installation.engine) as session:
        user = session.exec(select(User).where(User.login == "anna")).one()
        assert user.totp_secret is None and user.totp_enrolled_at is None
        assert not session.exec(select(RecoveryCode)).all()
        assert resolve_console_session(session, token=live) is None
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "totp_reset")).one()
    assert cli("admin", "reset-totp", "nobody").exit_code == 2


def test_suspend_reinstate_and_reset_password_of_a_console_user(installation, cli) -> None:
    password = json.loads(cli("admin", "create", "aud", "--role", "auditor", "--json").stdout)["password"]
    with session_scope(installation.engine) as session:
        user = session.exec(select(User).where(User.login == "aud")).one()
        start_console_session(session, user=user, address="", stage=ConsoleStage.ACTIVE)
    assert cli("admin", "suspend", "aud", "--reason", "left the company").exit_code == 0
    assert not _logs_in(installation, "aud", password)
    assert cli("admin", "suspend", "aud", "--reason", "again").exit_code == 2
    assert cli("admin", "reinstate", "aud").exit_code == 0
    reset = json.loads(cli("admin", "reset-password", "aud", "--json").stdout)
    assert not _logs_in(installation, "aud", password) and _logs_in(installation, "aud", reset["password"])
    with session_scope(installation.engine) as session:
        reasons = {row.end_reason for row in session.exec(select(ConsoleSession))}
    assert "suspended" in reasons


def test_the_demo_has_a_console_admin(tmp_path) -> None:
    secrets = prepare_demo(tmp_path / "demo", port=8443, contacts=5)
    inst = open_installation(tmp_path / "demo")
    try:
        assert _logs_in(inst, DEMO_ADMIN, secrets.admin_password)
    finally:
        inst.close()
