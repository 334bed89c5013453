"""``custos-server deployment bundle`` on a real data dir (``init``): as a real process for the CLI
(output, exit status, one-line errors), in-process through :func:`write_bundle` for the rest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from agent_client.config import parse_deployment_config
from owner_server.core.datadir import init_data_dir
from owner_server.core.settings import load_settings
from owner_server.deployment.bundle import write_bundle
from shared.errors import CustosError

FILES = {"custos-agent.toml", "ca.pem", "INSTALL.md", "SHA256SUMS"}
TUF_ROOT = b'{"signed": {"_type": "root", "version": 1}, "signatures": []}\n'


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUSTOS_DATA_DIR": str(data_dir), "COLUMNS": "80"}
    return subprocess.run(
        [sys.executable, "-m", "owner_server", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "data"
    done = run(path, "init", "--organisation", "Example Telco", "--public-url", "https://custos.example:8443")
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def cli_bundle(data_dir, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("out") / "site"
    done = run(data_dir, "deployment", "bundle", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out, done


@pytest.fixture
def with_updates(data_dir):
    meta = data_dir / "updates" / "metadata"
    meta.mkdir(parents=True)
    (meta / "root.json").write_bytes(TUF_ROOT)
    yield data_dir
    shutil.rmtree(data_dir / "updates")


def sha256sum_check(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=directory, capture_output=True, text=True)


def test_bundle_has_the_config_the_ca_checksums_and_a_guide(data_dir, cli_bundle):
    out, done = cli_bundle
    assert {p.name for p in out.iterdir()} == FILES
    assert (out / "custos-agent.toml").read_bytes() == (data_dir / "deployment" / "custos-agent.toml").read_bytes()
    config = parse_deployment_config((out / "custos-agent.toml").read_bytes())  # what the client accepts
    assert config.server_url == "https://custos.example:8443" and config.organisation == "Example Telco"
    ca = x509.load_pem_x509_certificate((out / "ca.pem").read_bytes())
    assert x509.load_pem_x509_certificate(config.ca_certificate.encode()) == ca
    assert ca == x509.load_pem_x509_certificate((data_dir / "tls" / "ca.pem").read_bytes())
    checked = sha256sum_check(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sorted(checked.stdout.split()) == sorted([f"{name}:" for name in FILES - {"SHA256SUMS"}] + ["OK"] * 3)
    guide = (out / "INSTALL.md").read_text()
    assert "https://custos.example:8443" in guide and "/S" in guide and "%ProgramData%\\Custos" in guide
    assert "Updates are not set up" in guide
    assert "Updates are not set up" in done.stdout and "SHA-256 of SHA256SUMS" in done.stdout


def test_checksums_catch_a_changed_file(cli_bundle, tmp_path):
    out = tmp_path / "site"
    shutil.copytree(cli_bundle[0], out)
    config = out / "custos-agent.toml"
    config.write_text(config.read_text().replace("custos.example", "evil.example"))
    checked = sha256sum_check(out)
    assert checked.returncode != 0 and "custos-agent.toml: FAILED" in checked.stdout


def test_no_private_key_material_in_the_bundle(data_dir, cli_bundle):
    out = cli_bundle[0]
    secrets = [*(data_dir / "keys").iterdir(), *(data_dir / "tls").glob("*-key.pem")]
    assert len(secrets) >= 4
    body_lines = {
        line for path in secrets for line in path.read_text().splitlines() if len(line) >= 16 and "-----" not in line
    }
    for path in out.iterdir():
        data = path.read_text()
        assert "PRIVATE" not in data, path.name
        assert not [line for line in body_lines if line in data], path.name


def test_tuf_root_is_included_when_updates_are_set_up(with_updates, tmp_path):
    out = tmp_path / "site"
    written = write_bundle(load_settings(with_updates), out)
    assert written.updates is True and set(written.sha256) == FILES - {"SHA256SUMS"} | {"tuf-root.json"}
    assert (out / "tuf-root.json").read_bytes() == TUF_ROOT
    assert "tuf-root.json: OK" in sha256sum_check(out).stdout
    guide = (out / "INSTALL.md").read_text()
    assert "Updates are not set up" not in guide and "/etc/custos-agent/tuf-root.json" in guide


def test_an_empty_out_dir_is_used(data_dir, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    write_bundle(load_settings(data_dir), out)
    assert {p.name for p in out.iterdir()} == FILES


def _one_line_error(done: subprocess.CompletedProcess[str], text: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert text in done.stderr and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_bad_out_is_refused_with_one_line_and_changes_nothing(data_dir, tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    _one_line_error(run(data_dir, "deployment", "bundle", "--out", str(full)), "not empty")
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    settings = load_settings(data_dir)
    with pytest.raises(CustosError, match="not a directory"):
        write_bundle(settings, a_file)
    with pytest.raises(CustosError, match="does not exist"):
        write_bundle(settings, tmp_path / "no" / "site")
    assert a_file.read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "full"]


def test_a_failure_leaves_nothing_behind(with_updates, tmp_path):
    (with_updates / "updates" / "metadata" / "root.json").write_text("{not json")
    with pytest.raises(CustosError, match="not TUF root metadata"):
        write_bundle(load_settings(with_updates), tmp_path / "site")
    assert list(tmp_path.iterdir()) == []


def test_a_config_pinning_another_ca_is_refused(data_dir, tmp_path):
    other = tmp_path / "other"
    settings = init_data_dir(other, organisation="Other", host_names=["localhost"], public_url="https://127.0.0.1:8443")
    shutil.copy(data_dir / "tls" / "ca.pem", other / "tls" / "ca.pem")
    out = tmp_path / "site"
    with pytest.raises(CustosError, match="refusing a mixed bundle"):
        write_bundle(settings, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


def test_json_report_and_uninitialised_data_dir(data_dir, tmp_path):
    done = run(data_dir, "deployment", "bundle", "--out", str(tmp_path / "site"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["updates"] is False and set(report["files"]) == FILES - {"SHA256SUMS"}
    assert report["ca_fingerprint_sha256"].count(":") == 31
    _one_line_error(
        run(tmp_path / "nothing", "deployment", "bundle", "--out", str(tmp_path / "b")), "custos-server init"
    )
