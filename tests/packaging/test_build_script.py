"""build-deb.sh refuses bad input with one line and status 2, before building anything."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.packaging.conftest import LINUX

pytestmark = pytest.mark.packaging


def run_script(tmp_path, *args, key="0123456789ABCDEF0123456789ABCDEF01234567"):
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("CUSTOS_GPG_KEY", None)
    if key:
        env["CUSTOS_GPG_KEY"] = key
    out = tmp_path / "out"
    result = subprocess.run(
        ["bash", str(LINUX / "build-deb.sh"), "--out", str(out), "--dist", str(tmp_path / "dist"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert not out.exists() and not (tmp_path / "dist").exists()
    return result


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "usage: build-deb.sh"),
        (("--frobnicate", "x.toml"), "unknown option --frobnicate"),
        (("--compression", "lz4", "x.toml"), "--compression must be xz, zstd or gzip"),
        (("missing.toml",), "is not a file"),
    ],
    ids=["no-config", "unknown-option", "bad-compression", "missing-config"],
)
def test_bad_arguments_give_one_line_and_status_2(tmp_path, args, message):
    result = run_script(tmp_path, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_without_a_signing_key_nothing_is_built(tmp_path, deployment_config):
    result = run_script(tmp_path, str(deployment_config), key=None)
    assert result.returncode == 2
    assert "CUSTOS_GPG_KEY" in result.stderr


def test_invalid_deployment_config_is_refused_before_building(tmp_path):
    config = tmp_path / "site.toml"
    config.write_text('server_url = "http://plain.example"\norganisation = "X"\nca_certificate = "x"\n')
    result = run_script(tmp_path, str(config))
    assert result.returncode == 2
    assert result.stderr.strip() == "build-deb.sh: deployment config server_url must start with https://"
