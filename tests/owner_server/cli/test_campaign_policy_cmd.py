"""``campaign show-policy`` and ``campaign set-policy``: the CLI's side of the console's policy form."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from owner_server.cli.main import build_app
from owner_server.core.db import session_scope
from owner_server.identity.campaigns import update_policy
from owner_server.models import AuditEntry, Campaign
from owner_server.models._common import utcnow
from shared.errors import ConflictError
from shared.policy import CampaignPolicy

from ..helpers import POLICY, seed


def _policy(inst) -> CampaignPolicy:
    with Session(inst.engine) as session:
        return CampaignPolicy.model_validate_json(session.exec(select(Campaign)).one().policy_json)


def test_show_then_set_policy_round_trips_and_is_audited(installation, monkeypatch, tmp_path) -> None:
    seed(installation)
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(installation.settings.data_dir))
    app, runner = build_app(), CliRunner()
    shown = runner.invoke(app, ["campaign", "show-policy", "Camp"])
    assert shown.exit_code == 0, shown.output
    path = tmp_path / "policy.toml"
    path.write_text(shown.output, encoding="utf-8")
    same = runner.invoke(app, ["campaign", "set-policy", "Camp", "--policy", str(path), "--json"])
    assert same.exit_code == 0 and json.loads(same.output)["changed"] == []
    assert _policy(installation) == POLICY
    path.write_text(shown.output.replace("per_hour = 60", "per_hour = 20"), encoding="utf-8")
    changed = runner.invoke(app, ["campaign", "set-policy", "Camp", "--policy", str(path), "--json"])
    assert json.loads(changed.output)["changed"] == ["limits.per_hour"]
    assert _policy(installation).limits.per_hour == 20
    path.write_text(shown.output.replace('end = "24:00"', 'end = "25:00"'), encoding="utf-8")
    bad = runner.invoke(app, ["campaign", "set-policy", "Camp", "--policy", str(path)])
    assert bad.exit_code != 0 and "strategy.windows.0.end" in bad.output
    assert _policy(installation).limits.per_hour == 20
    with Session(installation.engine) as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.action == "campaign_policy_changed")).all()
    assert [json.loads(e.details)["sections"] for e in entries] == ["limits.per_hour"]


def test_an_erased_campaign_keeps_its_policy(installation) -> None:
    seed(installation)
    with session_scope(installation.engine) as session:
        camp = session.exec(select(Campaign)).one()
        camp.erased_at = utcnow()
        session.add(camp)
    with session_scope(installation.engine) as session, pytest.raises(ConflictError, match="erased"):
        update_policy(session, name="Camp", policy=POLICY.model_copy(update={"script": "x"}), actor="admin:t")
    assert _policy(installation) == POLICY
