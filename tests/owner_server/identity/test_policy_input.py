"""Issue 10: an owner's policy names only known fields and safe shortcuts; a stored policy still loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from owner_server.identity.policy_text import parse_policy, parse_policy_toml
from shared.errors import ValidationError
from shared.policy import CampaignPolicy

DEMO = Path(__file__).resolve().parents[3] / "owner_server" / "demo" / "policy.toml"


def policy(fields: str = 'first_name = "visible"', shortcut: str = "F1") -> str:
    return f'[fields]\n{fields}\n\n[[dispositions]]\ncode = "sale"\nlabel = "Sale"\nshortcut = "{shortcut}"\n'


def test_the_demo_policy_passes():
    assert parse_policy_toml(DEMO.read_text(encoding="utf-8")).dispositions


@pytest.mark.parametrize(
    "fields", ['imie = "visible"', 'first_name = "visible"\nmiasto = "masked"', '"Extra:X" = "visible"']
)
def test_an_unknown_field_name_is_refused_naming_the_known_ones(fields):
    with pytest.raises(ValidationError) as caught:
        parse_policy_toml(policy(fields))
    assert "unknown field name" in caught.value.message and "first_name" in caught.value.message
    assert "extra:<name>" in caught.value.message


def test_known_and_extra_fields_pass():
    parsed = parse_policy_toml(policy('first_name = "visible"\n"extra:segment" = "masked"\nphone = "hidden"'))
    assert set(parsed.fields) == {"first_name", "extra:segment", "phone"}


@pytest.mark.parametrize(
    "key", ["Ctrl+C", "ctrl+v", "Alt+F4", "Alt+Tab", "Esc", "Enter", "Tab", "F9", "F10", "Ctrl+Alt+Del", "Print", "F13"]
)
def test_a_system_or_client_key_is_refused_as_a_shortcut(key):
    with pytest.raises(ValidationError) as caught:
        parse_policy_toml(policy(shortcut=key))
    assert "shortcut" in caught.value.message and "never Ctrl+" in caught.value.message


@pytest.mark.parametrize("key", ["F1", "f12", "7", "S", "Alt+1", "Shift+F2"])
def test_safe_shortcuts_pass(key):
    assert parse_policy_toml(policy(shortcut=key)).dispositions[0].shortcut == key


def test_a_stored_policy_is_not_rechecked():
    """A policy stored before these checks existed must still load for issuing."""
    stored = CampaignPolicy.model_validate(
        {"fields": {"imie": "visible"}, "dispositions": [{"code": "x", "label": "X", "shortcut": "Ctrl+C"}]}
    )
    assert CampaignPolicy.model_validate_json(stored.model_dump_json()).fields
    with pytest.raises(ValidationError):
        parse_policy(stored.model_dump(mode="json"))


def test_the_cli_says_toml_for_a_toml_error_in_a_yaml_named_file(tmp_path):
    bad = tmp_path / "pol.yaml"
    bad.write_text("fields:\n  first_name: visible\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "owner_server", "campaign", "create", "X", "--policy", str(bad),
         "--data-dir", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "not valid TOML (a policy file is TOML" in done.stderr and "YAML" not in done.stderr
