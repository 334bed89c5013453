import datetime
import io

import keyring.backend
import keyring.backends.fail
import keyring.backends.null
import pytest
import tomli_w

from agent_client import config as config_module
from agent_client.credentials import MemoryKeyring
from agent_client.main import main
from agent_client.selftest import CheckResult, check_ca, check_config, check_keyring, check_qt, run_self_test
from tests.agent_client.agent_fakes import make_ca_pem


class SecureKeyring(keyring.backend.KeyringBackend):
    """Stands in for an OS keyring (Secret Service, Credential Manager) by its priority only."""

    priority = 1

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        raise NotImplementedError

    def delete_password(self, service, username):
        raise NotImplementedError


class PlaintextKeyring(SecureKeyring):
    """Named like keyrings.alt's file backend, which the client refuses."""


@pytest.fixture(autouse=True)
def no_provisioned_config(tmp_path, monkeypatch):
    system = tmp_path / "system"
    monkeypatch.setattr(config_module, "system_config_dir", lambda: system)
    monkeypatch.setattr(config_module, "user_config_dir", lambda: tmp_path / "user")
    return system


def write_config(path, ca_pem=None, **extra):
    values = {
        "server_url": "https://custos.example:8443",
        "organisation": "Demo Telecom",
        "ca_certificate": ca_pem or make_ca_pem(),
        **extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(values), encoding="utf-8")
    return path


def test_config_check_passes_and_names_the_file(tmp_path):
    path = write_config(tmp_path / "site.toml")
    result, config = check_config(path)
    assert result == CheckResult("config", True, f"{path} (server https://custos.example:8443)")
    assert config is not None and config.organisation == "Demo Telecom"


def test_config_check_fails_without_any_config():
    result, config = check_config(None)
    assert not result.ok and "no deployment config" in result.detail
    assert config is None


def test_config_check_fails_on_invalid_config(tmp_path):
    path = write_config(tmp_path / "site.toml", idle_lock_minutes=0)
    result, config = check_config(path)
    assert not result.ok and "idle_lock_minutes" in result.detail
    assert config is None


def test_provisioned_config_wins_over_config_argument(tmp_path, no_provisioned_config):
    provisioned = write_config(no_provisioned_config / "custos-agent.toml")
    other = write_config(tmp_path / "other.toml")
    result, _ = check_config(other)
    assert result.ok and result.detail.startswith(str(provisioned))


def test_ca_check_reports_the_pinned_ca(tmp_path):
    _, config = check_config(write_config(tmp_path / "site.toml", ca_pem=make_ca_pem("Owner CA")))
    result = check_ca(config)
    assert result.ok
    assert result.detail.startswith("pinned CA 'Owner CA' valid until ")
    assert result.detail.endswith("TLS context built")


def test_ca_check_fails_on_an_expired_ca(tmp_path):
    _, config = check_config(write_config(tmp_path / "site.toml"))
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=365)
    result = check_ca(config, now=later)
    assert not result.ok and "expired" in result.detail


def test_ca_check_fails_without_config():
    assert not check_ca(None).ok


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        (keyring.backends.fail.Keyring(), "no OS keyring is available"),
        (keyring.backends.null.Keyring(), "no OS keyring is available"),
        (PlaintextKeyring(), "stores secrets in files"),
        (MemoryKeyring(), "only the in-memory keyring"),
    ],
    ids=["fail", "null", "plaintext", "memory-not-asked-for"],
)
def test_keyring_check_refuses_unsafe_backends(backend, message):
    result = check_keyring(ephemeral=False, backend=backend)
    assert not result.ok
    assert message in result.detail


def test_keyring_check_names_a_secure_backend():
    result = check_keyring(ephemeral=False, backend=SecureKeyring())
    assert result == CheckResult("keyring", True, f"{__name__}.SecureKeyring")


def test_keyring_check_with_ephemeral_keyring_says_memory():
    result = check_keyring(ephemeral=True, backend=keyring.backends.fail.Keyring())
    assert result.ok and result.detail.startswith("memory")


def test_memory_keyring_is_never_chosen_on_its_own():
    assert MemoryKeyring.priority < keyring.backends.fail.Keyring.priority


def test_qt_check_starts_the_platform_and_loads_polish(qapp):
    translations, qt = check_qt()
    assert translations == CheckResult("translations", True, "custos_pl.qm loads")
    assert qt == CheckResult("qt", True, f"platform plugin '{qapp.platformName()}' started")


def test_self_test_passes_and_prints_one_line_per_check(tmp_path, qapp):
    out = io.StringIO()
    status = run_self_test(write_config(tmp_path / "site.toml"), ephemeral_keyring=True, out=out)
    lines = out.getvalue().splitlines()
    assert status == 0
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "PASS config",
        "PASS ca",
        "PASS keyring",
        "PASS translations",
        "PASS qt",
    ]
    assert lines[-1] == "self-test passed (5 checks)"


def test_self_test_fails_when_one_check_fails(tmp_path):
    out = io.StringIO()
    fake_qt = [CheckResult("qt", True, "platform plugin 'fake' started")]
    status = run_self_test(tmp_path / "missing.toml", ephemeral_keyring=True, out=out, qt_check=lambda: fake_qt)
    assert status == 1
    assert out.getvalue().splitlines()[-1] == "self-test FAILED: config, ca"


def test_main_runs_the_self_test_before_the_normal_start(tmp_path, capsys, qapp):
    status = main(["--self-test", "--ephemeral-keyring", "--config", str(write_config(tmp_path / "site.toml"))])
    assert status == 0
    assert capsys.readouterr().out.splitlines()[-1] == "self-test passed (5 checks)"


def test_qt_check_leaves_the_application_untranslated(qapp):
    check_qt()
    assert qapp.translate("Main", "Custos") == "Custos"
    assert qapp.translate("LoginWindow", "Log in") == "Log in"
