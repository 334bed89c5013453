"""``agent``, ``campaign list`` and ``outsourcer`` administration through the CLI, on SQLite and PostgreSQL.

Each command's effect is checked on the real services an agent's client
talks to (enrol, login, authenticate); bad input exits 2 and changes nothing.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from owner_server.cli.main import build_app
from owner_server.core.db import session_scope
from owner_server.identity import admin
from owner_server.models import Campaign, Contact, ContactState, Lease
from owner_server.work import distribution
from shared.errors import AuthError, CustosError, ErrorCode, ForbiddenError

from ..helpers import PASSWORD, DeviceKey, seed, stored_ref
from ..identity.agent_support import Agent, actions


@pytest.fixture
def inst(any_installation):
    return any_installation


@pytest.fixture
def setup(inst):
    return seed(inst, agents=("agent1", "agent2"))


def _runner(inst, monkeypatch):
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(inst.settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    app, runner = build_app(), CliRunner()

    def run(*args, stdin=None):
        return runner.invoke(app, list(args), input=stdin)

    return run


@pytest.fixture
def cli(inst, setup, monkeypatch):
    """The CLI over a seeded installation on SQLite and PostgreSQL."""
    return _runner(inst, monkeypatch)


@pytest.fixture
def sqlite_cli(installation, monkeypatch):
    """The CLI over a seeded SQLite installation (for input-rule tables that do not depend on the database)."""
    seed(installation, agents=("agent1", "agent2"))
    return installation, _runner(installation, monkeypatch)


@pytest.fixture
def agent1(inst, setup) -> Agent:
    a = Agent(inst, "agent1", setup["agent1"].enrolment_code)
    a.enrol()
    return a


def _json(result):
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _refused(result, message: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def _lease(inst, agent: Agent, token: str):
    principal = agent.authenticate(token)
    with session_scope(inst.engine) as s:
        return distribution.next_record(s, agent=principal, keys=inst.keys).record


# --- agent list -------------------------------------------------------------------------------------------


def test_agent_list_reports_each_agent(cli, inst, agent1):
    agent1.login()
    with session_scope(inst.engine) as s:
        admin.add_outsourcer(s, name="Other", actor="test")
        admin.add_agent(s, login="agent3", outsourcer="Other", campaign="Camp", password=PASSWORD, actor="test")
    rows = {r["login"]: r for r in _json(cli("agent", "list", "--json"))["agents"]}
    assert sorted(rows) == ["agent1", "agent2", "agent3"]
    one, two = rows["agent1"], rows["agent2"]
    assert (one["outsourcer"], one["campaign"], one["suspended"], one["devices"]) == ("BPO", "Camp", False, 1)
    assert one["last_login"] is not None and one["locked_until"] is None
    assert (two["devices"], two["last_login"]) == (0, None)
    assert rows["agent3"]["outsourcer"] == "Other"
    only = _json(cli("agent", "list", "--outsourcer", "Other", "--json"))["agents"]
    assert [r["login"] for r in only] == ["agent3"]
    table = cli("agent", "list")
    assert table.exit_code == 0 and "agent1" in table.stdout and "active" in table.stdout
    _refused(cli("agent", "list", "--outsourcer", "Nope"), "outsourcer 'Nope' not found")


def test_agent_list_shows_suspension_and_lock(cli, agent1):
    for _ in range(5):
        with pytest.raises(AuthError):
            agent1.login(password="wrong password!!")
    assert cli("agent", "suspend", "agent2", "--reason", "left the company").exit_code == 0
    rows = {r["login"]: r for r in _json(cli("agent", "list", "--json"))["agents"]}
    assert rows["agent1"]["locked_until"] is not None and not rows["agent1"]["suspended"]
    assert rows["agent2"]["suspended"] and rows["agent2"]["suspended_reason"] == "left the company"
    assert "suspended: left the company" in cli("agent", "list").stdout


# --- suspend / reinstate ----------------------------------------------------------------------------------


def test_suspend_stops_the_token_at_once_and_closes_the_lease(cli, inst, agent1):
    token = agent1.login().access_token
    record = _lease(inst, agent1, token)
    held_ref = stored_ref(inst, record.lease_id)
    done = cli("agent", "suspend", "agent1", "--reason", "velocity review")
    assert done.exit_code == 0, done.stderr
    with pytest.raises(CustosError):
        agent1.authenticate(token)
    with Session(inst.engine) as s:
        assert s.exec(select(Lease)).one().closed_at is not None
        assert s.exec(select(Contact).where(Contact.ref == held_ref)).one().state is ContactState.NEW
    with pytest.raises(ForbiddenError) as refused:
        agent1.login()
    assert refused.value.code is ErrorCode.ACCOUNT_SUSPENDED
    assert {"agent_suspended", "lease_withdrawn"} <= set(actions(inst))


def test_reinstate_lets_the_agent_log_in_again(cli, inst, agent1):
    assert cli("agent", "suspend", "agent1", "--reason", "check").exit_code == 0
    done = cli("agent", "reinstate", "agent1")
    assert done.exit_code == 0, done.stderr
    assert agent1.login().access_token
    assert actions(inst).count("agent_reinstated") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("suspend", "nobody", "--reason", "x"), "agent 'nobody' not found"),
        (("suspend", "agent1", "--reason", "   "), "a reason is 1-200 characters"),
        (("suspend", "agent1", "--reason", "x" * 201), "a reason is 1-200 characters"),
        (("reinstate", "agent1"), "is not suspended"),
        (("reinstate", "nobody"), "not found"),
        (("revoke-device", "nobody"), "not found"),
        (("reset-password", "nobody"), "not found"),
    ],
)
def test_agent_commands_refuse_bad_input_and_change_nothing(sqlite_cli, args, message):
    inst, cli = sqlite_cli
    before = actions(inst)
    _refused(cli("agent", *args), message)
    assert actions(inst) == before


def test_suspending_twice_is_refused(cli, inst):
    assert cli("agent", "suspend", "agent1", "--reason", "first").exit_code == 0
    before = actions(inst)
    _refused(cli("agent", "suspend", "agent1", "--reason", "second"), "already suspended")
    assert actions(inst) == before


def test_owner_users_are_not_agents(cli, inst):
    with session_scope(inst.engine) as s:
        from owner_server.models import Role

        admin.create_user(s, login="boss", role=Role.ADMIN, password=PASSWORD, actor="test")
    _refused(cli("agent", "suspend", "boss", "--reason", "x"), "agent 'boss' not found")


# --- revoke-device ----------------------------------------------------------------------------------------


def test_revoke_device_locks_out_the_old_device_and_a_new_code_enrols(cli, inst, setup, agent1):
    token = agent1.login().access_token
    old_device, old_key = agent1.device_id, agent1.key
    report = _json(cli("agent", "revoke-device", "agent1", "--json"))
    code = report["enrolment_code"]
    assert len(code) == 14
    with pytest.raises(AuthError):
        agent1.authenticate(token)
    with pytest.raises(AuthError):
        agent1.login(device_id=old_device, key=old_key)
    agent1.enrol(code=code, key=DeviceKey())
    assert agent1.login().access_token
    human = cli("agent", "revoke-device", "agent1")
    assert human.exit_code == 0 and "shown once" in human.stdout


def test_revoke_device_voids_unused_codes(cli, setup, inst):
    new_code = _json(cli("agent", "revoke-device", "agent2", "--json"))["enrolment_code"]
    agent2 = Agent(inst, "agent2", setup["agent2"].enrolment_code)
    with pytest.raises(AuthError):
        agent2.enrol()  # the code from `agent add` no longer works
    agent2.enrol(code=new_code)
    assert agent2.login().access_token


# --- reset-password ---------------------------------------------------------------------------------------


def test_reset_password_generates_one_and_ends_the_sessions(cli, inst, agent1):
    token = agent1.login().access_token
    password = _json(cli("agent", "reset-password", "agent1", "--json"))["password"]
    assert len(password) >= 12
    with pytest.raises(AuthError):
        agent1.authenticate(token)
    with pytest.raises(AuthError):
        agent1.login()  # the old password
    assert agent1.login(password=password).access_token
    assert actions(inst).count("password_reset") == 1


def test_reset_password_from_stdin(cli, agent1):
    report = _json(cli("agent", "reset-password", "agent1", "--password-stdin", "--json", stdin="a new long secret\n"))
    assert report["password"] is None
    assert agent1.login(password="a new long secret").access_token


def test_reset_password_refuses_a_short_one_and_keeps_the_old(cli, inst, agent1):
    before = actions(inst)
    _refused(cli("agent", "reset-password", "agent1", "--password-stdin", stdin="short\n"), "12-256 characters")
    assert actions(inst) == before
    assert agent1.login().access_token


# --- campaign list ----------------------------------------------------------------------------------------


def test_campaign_list_counts_real_contacts_by_state(cli, inst, agent1):
    with session_scope(inst.engine) as s:
        camp = s.exec(select(Campaign)).one()
        key = inst.keys.campaign_key(s, campaign_id=camp.id)
        ref = uuid.uuid4().hex
        s.add(
            Contact(
                ref=ref,
                campaign_id=camp.id,
                data_key_id=key.data_key_id,
                payload=key.cipher.encrypt_fields(ref, {"first_name": "Trap", "phone": "+48500999999"}),
                phone_bidx=inst.keys.indexer(s).phone("+48500999999"),
                is_canary=True,
                state=ContactState.DONE,  # not issuable, so the lease below is a real contact's (issue order is random)
            )
        )
    [row] = _json(cli("campaign", "list", "--json"))["campaigns"]
    assert row["contacts"] == {"new": 3} and row["agents"] == 2 and row["erased_at"] is None
    assert row["created_at"] and row["retention_days"] is None
    _lease(inst, agent1, agent1.login().access_token)
    [row] = _json(cli("campaign", "list", "--json"))["campaigns"]
    assert row["contacts"] == {"leased": 1, "new": 2}
    table = cli("campaign", "list")
    assert table.exit_code == 0 and "Camp" in table.stdout and "kept" in table.stdout


# --- outsourcer list / set-limits / set-networks / set-shift ----------------------------------------------


def test_outsourcer_settings_round_trip(cli, inst):
    assert cli("outsourcer", "set-limits", "BPO", "--per-hour", "40").exit_code == 0
    assert cli("outsourcer", "set-limits", "BPO", "--per-day", "300").exit_code == 0
    assert cli("outsourcer", "set-networks", "BPO", "10.20.0.0/16", "2001:db8::/48").exit_code == 0
    assert cli("outsourcer", "set-shift", "BPO", "--start", "08:00", "--end", "16:30").exit_code == 0
    [row] = _json(cli("outsourcer", "list", "--json"))["outsourcers"]
    assert row == {
        "name": "BPO",
        "per_hour_limit": 40,
        "per_day_limit": 300,
        "networks": ["10.20.0.0/16", "2001:db8::/48"],
        "shift_start": "08:00",
        "shift_end": "16:30",
        "agents": 2,
    }
    assert "10.20.0.0/16" in cli("outsourcer", "list").stdout
    for args in (("set-limits", "BPO", "--clear"), ("set-networks", "BPO", "--clear"), ("set-shift", "BPO", "--clear")):
        assert cli("outsourcer", *args).exit_code == 0
    [row] = _json(cli("outsourcer", "list", "--json"))["outsourcers"]
    assert (row["per_hour_limit"], row["per_day_limit"], row["networks"], row["shift_start"]) == (None, None, [], None)
    audited = actions(inst)
    assert audited.count("outsourcer_limits_set") == 3 and audited.count("outsourcer_networks_set") == 2
    assert audited.count("outsourcer_shift_set") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("set-limits", "BPO"), "--per-hour and/or --per-day"),
        (("set-limits", "BPO", "--per-hour", "0"), "from 1 to 100000"),
        (("set-limits", "BPO", "--per-hour", "90", "--per-day", "80"), "cannot exceed"),
        (("set-limits", "BPO", "--per-hour", "5", "--clear"), "--clear alone"),
        (("set-limits", "Nope", "--per-hour", "5"), "outsourcer 'Nope' not found"),
        (("set-networks", "BPO", "10.0.0.1/8"), "did you mean 10.0.0.0/8"),
        (("set-networks", "BPO", "10.0.0.0/8", "bogus"), "'bogus' is not an IPv4 or IPv6 network"),
        (("set-networks", "BPO"), "--clear"),
        (("set-networks", "Nope", "10.0.0.0/8"), "not found"),
        (("set-shift", "BPO", "--start", "8am", "--end", "16:00"), "--start is a time HH:MM"),
        (("set-shift", "BPO", "--start", "08:00"), "both --start and --end"),
        (("set-shift", "BPO", "--start", "08:00", "--end", "08:00"), "must differ"),
        (("set-shift", "BPO", "--clear", "--end", "08:00"), "--clear alone"),
    ],
)
def test_outsourcer_commands_refuse_bad_input_and_change_nothing(sqlite_cli, args, message):
    inst, cli = sqlite_cli
    assert cli("outsourcer", "set-networks", "BPO", "192.0.2.0/24").exit_code == 0
    before_rows, before_audit = cli("outsourcer", "list", "--json").stdout, actions(inst)
    _refused(cli("outsourcer", *args), message)
    assert cli("outsourcer", "list", "--json").stdout == before_rows
    assert actions(inst) == before_audit


def test_a_non_number_limit_is_a_usage_error(sqlite_cli):
    inst, cli = sqlite_cli
    before = actions(inst)
    result = cli("outsourcer", "set-limits", "BPO", "--per-hour", "abc")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert actions(inst) == before


def test_names_that_look_like_markup_are_shown_not_parsed(sqlite_cli):
    inst, run = sqlite_cli
    with session_scope(inst.engine) as s:
        from owner_server.models import Device, User

        agent = s.exec(select(User).where(User.login == "agent1")).one()
        s.add(Device(user_id=agent.id, public_key=b"k" * 32, name="[/x] [bold red]pc"))  # an agent names its device
    added = run("outsourcer", "add", "[/b] Evil")
    assert added.exit_code == 0, added.stderr
    listed = run("outsourcer", "list")
    assert listed.exit_code == 0 and "[/b] Evil" in listed.stdout
    agents = run("agent", "list")
    assert agents.exit_code == 0, agents.stderr
    refused = run("agent", "suspend", "[/x]", "--reason", "r")
    assert refused.exit_code == 2 and "[/x]" in refused.stderr
