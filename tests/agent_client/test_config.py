import ssl

import pytest
import tomli_w

from agent_client.config import (
    CONFIG_FILE_NAME,
    build_ssl_context,
    load_deployment_config,
    parse_deployment_config,
    save_user_copy,
)
from agent_client.errors import DeploymentConfigError


def toml(**values):
    return tomli_w.dumps(values).encode()


@pytest.fixture
def valid(ca_pem):
    return {"server_url": "https://127.0.0.1:8443", "organisation": "Demo Telecom", "ca_certificate": ca_pem}


def test_valid_file_loads(tmp_path, valid):
    path = tmp_path / "deployment.toml"
    path.write_bytes(toml(**valid))
    config, raw = load_deployment_config(path)
    assert config.server_url == "https://127.0.0.1:8443"
    assert config.organisation == "Demo Telecom"
    assert config.api_base_url == "https://127.0.0.1:8443/api/v1/agent/"
    assert raw == path.read_bytes()


def test_trailing_slash_is_normalised(valid):
    config = parse_deployment_config(toml(**{**valid, "server_url": "https://custos.example:8443/"}))
    assert config.server_url == "https://custos.example:8443"


@pytest.mark.parametrize("missing", ["server_url", "organisation", "ca_certificate"])
def test_missing_key_is_named(valid, missing):
    del valid[missing]
    with pytest.raises(DeploymentConfigError, match=missing):
        parse_deployment_config(toml(**valid))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ca_certificate", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "PEM"),
        ("ca_certificate", "hello", "PEM"),
        ("server_url", "http://127.0.0.1:8443", "https"),
        ("server_url", "https://127.0.0.1:8443/other", "host and port only"),
        ("server_url", "https://:8443", "host"),
        ("server_url", "https://host:99999", "port"),
        ("organisation", "  ", "non-empty"),
    ],
)
def test_bad_values_are_refused(valid, key, value, message):
    valid[key] = value
    with pytest.raises(DeploymentConfigError, match=message):
        parse_deployment_config(toml(**valid))


def test_non_toml_is_refused():
    with pytest.raises(DeploymentConfigError, match="TOML"):
        parse_deployment_config(b"server_url = ")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DeploymentConfigError, match="cannot read"):
        load_deployment_config(tmp_path / "absent.toml")


def test_ssl_context_trusts_only_the_given_ca(ca_pem):
    context = build_ssl_context(ca_pem)
    assert len(context.get_ca_certs()) == 1
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_user_copy_is_saved_atomically(tmp_path, valid):
    raw = toml(**valid)
    target = save_user_copy(raw, tmp_path / "conf")
    assert target == tmp_path / "conf" / CONFIG_FILE_NAME
    assert target.read_bytes() == raw
    assert [p.name for p in target.parent.iterdir()] == [CONFIG_FILE_NAME]


def test_optional_keys_default_safe_and_are_checked(valid):
    config = parse_deployment_config(toml(**valid))
    assert (config.screen_reader_mode, config.idle_lock_minutes, config.update_check) == (False, 10, True)
    config = parse_deployment_config(toml(**valid) + b"screen_reader_mode = true\nidle_lock_minutes = 3\n")
    assert (config.screen_reader_mode, config.idle_lock_minutes) == (True, 3)
    for bad in (b"idle_lock_minutes = 0\n", b"idle_lock_minutes = true\n", b'screen_reader_mode = "yes"\n'):
        with pytest.raises(DeploymentConfigError):
            parse_deployment_config(toml(**valid) + bad)
