"""Fixtures of the packaging tests: a throwaway GPG key, one real build of the signed .deb per session.

The build runs ``packaging/linux/build-deb.sh`` exactly as IT or CI would
(PyInstaller, dpkg-deb, gpg, reprepro); only the compression is gzip, to keep
the test fast. Tools that are missing skip the tests, except in CI
(``CI=true``), where they fail: scripts/system-deps.sh installs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w

from tests.agent_client.agent_fakes import make_ca_pem
from tests.support.xvfb import in_ci

REPO = Path(__file__).resolve().parents[2]
LINUX = REPO / "packaging" / "linux"
TOOLS = ("dpkg", "dpkg-deb", "objdump", "gpg", "gpgv", "reprepro", "apt-get", "Xvfb", "dbus-run-session")


def require_tools(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        reason = f"missing {', '.join(missing)} (install with scripts/system-deps.sh)"
        if in_ci():
            pytest.fail(f"{reason}; CI must run the packaging tests")
        pytest.skip(reason)


@dataclass(frozen=True)
class SigningKey:
    gnupghome: Path
    fingerprint: str
    public_keyring: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "GNUPGHOME": str(self.gnupghome), "CUSTOS_GPG_KEY": self.fingerprint}


@dataclass(frozen=True)
class Build:
    config: Path
    deb: Path
    signature: Path
    repo: Path  # the public tree apt reads: dists/, pool/, the keyring
    bundle: Path
    log: str


def make_key(home: Path, name: str) -> SigningKey:
    """A fresh Ed25519 signing key without passphrase in its own GNUPGHOME."""
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        [
            "gpg",
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            f"{name} <{name}@custos.invalid>",
            "ed25519",
            "sign",
            "1d",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-keys"], env=env, check=True, capture_output=True, text=True
    ).stdout
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    keyring = home / "public.gpg"
    keyring.write_bytes(
        subprocess.run(["gpg", "--batch", "--export", fingerprint], env=env, check=True, capture_output=True).stdout
    )
    return SigningKey(home, fingerprint, keyring)


def _stop_agent(home: Path) -> None:
    subprocess.run(["gpgconf", "--kill", "all"], env={**os.environ, "GNUPGHOME": str(home)}, check=False)


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory):
    require_tools("gpg", "gpgv")
    key = make_key(tmp_path_factory.mktemp("gpg") / "home", "custos-test")
    yield key
    _stop_agent(key.gnupghome)


@pytest.fixture(scope="session")
def other_key(tmp_path_factory):
    require_tools("gpg")
    key = make_key(tmp_path_factory.mktemp("gpg-other") / "home", "mallory")
    yield key
    _stop_agent(key.gnupghome)


@pytest.fixture(scope="session")
def deployment_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("site") / "custos-agent.toml"
    values = {
        "server_url": "https://custos.example:8443",
        "organisation": "Demo Telecom",
        "ca_certificate": make_ca_pem(),
    }
    path.write_text(tomli_w.dumps(values), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def build(tmp_path_factory, signing_key, deployment_config):
    """One real build: PyInstaller, the .deb, its signature and the signed apt repository."""
    require_tools(*TOOLS)
    base = tmp_path_factory.mktemp("build")
    env = {**signing_key.env(), "PYTHON": sys.executable, "QT_QPA_PLATFORM": "xcb"}
    result = subprocess.run(
        [
            "bash",
            str(LINUX / "build-deb.sh"),
            "--dist",
            str(base / "dist"),
            "--work",
            str(base / "work"),
            "--out",
            str(base / "out"),
            "--compression",
            "gzip",
            str(deployment_config),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    debs = list((base / "out").glob("custos-agent_*_amd64.deb"))
    assert len(debs) == 1, debs
    return Build(
        config=deployment_config,
        deb=debs[0],
        signature=Path(f"{debs[0]}.asc"),
        repo=base / "out" / "apt" / "public",
        bundle=base / "dist" / "custos-agent",
        log=result.stdout,
    )
