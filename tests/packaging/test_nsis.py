"""The Windows installer: compiled with Debian's makensis, Authenticode-signed and verified with osslsigncode.

The frozen Windows binary (PyInstaller on Windows) cannot be built on this Linux machine, so the
installer here is compiled against a **stand-in payload**: a placeholder ``custos-agent.exe`` (a few
bytes, not a program) and an ``_internal/`` file, plus a real deployment config and TUF root. What
is real: the .nsi script as shipped, makensis, ``build-installer.sh``, osslsigncode signing and
verification against a throwaway code-signing CA made with ``cryptography``, and 7-Zip reading the
compiled installer back. The installer is never run (no Windows here); the workflow
``.github/workflows/windows-client.yml`` builds the real binary and runs the installer on a
Windows runner.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.codesign import SigningPki, make_signing_pki

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[2]
NSI = REPO / "packaging" / "windows" / "custos-agent.nsi"
BUILD = REPO / "packaging" / "windows" / "build-installer.sh"
VERSION = "0.1.0"
CONFIG = b'server_url = "https://custos.example:8443"\norganisation = "Example"\nca_certificate = "stand-in"\n'
TUF_ROOT = b'{"signed": {"_type": "root"}, "signatures": []}\n'

_TOOLS = {"makensis": "nsis", "osslsigncode": "osslsigncode", "7zz": "7zip"}
_missing = [f"{tool} (Debian package {pkg})" for tool, pkg in _TOOLS.items() if shutil.which(tool) is None]
if _missing:
    pytest.skip(f"missing {', '.join(_missing)}; scripts/system-deps.sh installs them", allow_module_level=True)


def build(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOS_SIGN_")}
    return subprocess.run(
        ["bash", str(BUILD), *args], capture_output=True, text=True, env={**clean, **(env or {})}, timeout=300
    )


def verify(installer: Path, ca: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["osslsigncode", "verify", "-in", str(installer), "-CAfile", str(ca)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def sign_env(pki: SigningPki, ca: Path) -> dict[str, str]:
    return {"CUSTOS_SIGN_CERT": str(pki.cert_pem), "CUSTOS_SIGN_KEY": str(pki.key_pem), "CUSTOS_SIGN_CAFILE": str(ca)}


def sign(pki: SigningPki, unsigned: Path, out: Path) -> None:
    done = subprocess.run(
        ["osslsigncode", "sign", "-certs", str(pki.cert_pem), "-key", str(pki.key_pem), "-h", "sha256"]
        + ["-in", str(unsigned), "-out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nsis")
    payload = root / "payload" / "custos-agent"
    (payload / "_internal").mkdir(parents=True)
    (payload / "custos-agent.exe").write_bytes(b"MZ stand-in for the PyInstaller binary\n")
    (payload / "_internal" / "base_library.zip").write_bytes(b"stand-in\n")
    (root / "custos-agent.toml").write_bytes(CONFIG)
    (root / "tuf-root.json").write_bytes(TUF_ROOT)
    return root


def _inputs(work: Path) -> list[str]:
    return ["--payload", str(work / "payload" / "custos-agent"), "--config", str(work / "custos-agent.toml")]


@pytest.fixture(scope="module")
def unsigned(work) -> Path:
    out = work / "custos-agent-setup-unsigned.exe"
    args = [*_inputs(work), "--tuf-root", str(work / "tuf-root.json"), "--version", VERSION, "--out", str(out)]
    done = build(*args)
    assert done.returncode == 2 and "no signing key" in done.stderr and not out.exists()  # signing is the default
    done = build(*args, "--unsigned")
    assert done.returncode == 0, done.stderr + done.stdout
    return out


@pytest.fixture(scope="module")
def ours(work) -> SigningPki:
    return make_signing_pki(work / "pki-ours", "ours")


@pytest.fixture(scope="module")
def signed(work, ours) -> Path:
    out = work / f"custos-agent-setup-{VERSION}.exe"
    env = sign_env(ours, ours.ca_pem)
    done = build(*_inputs(work), "--version", VERSION, "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "signed and verified the uninstaller" in done.stdout  # makensis called the script back
    assert f"built, signed and verified: {out}" in done.stdout
    return out


def test_installer_holds_the_payload_and_the_config(unsigned, work, tmp_path):
    listing = subprocess.run(["7zz", "l", str(unsigned)], capture_output=True, text=True, check=True).stdout
    assert "NSIS-3 Unicode 64-bit" in listing
    subprocess.run(["7zz", "x", f"-o{tmp_path}", str(unsigned)], capture_output=True, check=True)
    files = {p.relative_to(tmp_path).as_posix(): p for p in tmp_path.rglob("*") if p.is_file()}
    assert files["custos-agent.exe"].read_bytes() == (work / "payload/custos-agent/custos-agent.exe").read_bytes()
    assert "_internal/base_library.zip" in files and "uninstall.exe" in {Path(n).name for n in listing.split()}
    config = [p for name, p in files.items() if name.endswith("/custos-agent.toml")]
    tuf = [p for name, p in files.items() if name.endswith("/tuf-root.json")]
    assert [p.read_bytes() for p in config] == [CONFIG] and [p.read_bytes() for p in tuf] == [TUF_ROOT]
    assert config[0].parent == tuf[0].parent != tmp_path  # beside each other, not in the program folder


def test_signed_installer_verifies_against_our_ca(signed, ours):
    done = verify(signed, ours.ca_pem)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^Signature verification: ok$", done.stdout, re.M), done.stdout
    assert "Custos test publisher (ours)" in done.stdout


def test_unsigned_installer_does_not_verify(unsigned, ours):
    done = verify(unsigned, ours.ca_pem)
    assert done.returncode != 0 and "Signature verification: ok" not in done.stdout + done.stderr


def test_a_flipped_byte_fails_verification(signed, ours, tmp_path):
    data = bytearray(signed.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the compressed payload, which the Authenticode hash covers
    tampered = tmp_path / "tampered.exe"
    tampered.write_bytes(bytes(data))
    done = verify(tampered, ours.ca_pem)
    assert done.returncode != 0
    assert "Signature verification: ok" not in done.stdout + done.stderr
    assert "MISMATCH" in done.stdout and "Signature verification: failed" in done.stderr


def test_a_signature_from_another_ca_fails_against_ours(unsigned, ours, work, tmp_path):
    other = make_signing_pki(work / "pki-other", "other")
    foreign = tmp_path / "foreign.exe"
    sign(other, unsigned, foreign)
    assert verify(foreign, other.ca_pem).returncode == 0  # a good signature, just not ours
    done = verify(foreign, ours.ca_pem)
    assert done.returncode != 0 and "Signature verification: ok" not in done.stdout + done.stderr
    # and the build script refuses to publish it
    env = sign_env(other, ours.ca_pem)
    out = tmp_path / "refused.exe"
    done = build(*_inputs(work), "--version", VERSION, "--out", str(out), env=env)
    assert done.returncode == 1 and "does not verify" in done.stderr and not out.exists()


def test_ci_path_base64_pfx_with_password_file(work, ours, tmp_path):
    password = tmp_path / "pass"
    password.write_text(ours.password)
    out = tmp_path / "ci.exe"
    env = {
        "CUSTOS_SIGN_PFX_B64": base64.b64encode(ours.pfx.read_bytes()).decode(),
        "CUSTOS_SIGN_PASS_FILE": str(password),
        "CUSTOS_SIGN_CAFILE": str(ours.ca_pem),
    }
    done = build(*_inputs(work), "--version", VERSION, "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert ours.password not in done.stdout + done.stderr
    assert verify(out, ours.ca_pem).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "x.toml"], "usage"),
        (["--payload", "/nonexistent", "--config", "x.toml"], "not a PyInstaller one-folder build"),
        (["--bogus"], "usage"),
    ],
)
def test_build_script_refuses_bad_arguments(args, message):
    done = build(*args)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_bad_version_is_refused(work):
    done = build(*_inputs(work), "--version", "latest", "--unsigned")
    assert done.returncode == 2 and "X.Y.Z" in done.stderr


def test_script_installs_for_all_users_with_admin_only_config():
    """What the installer does on Windows, read from the script (it cannot run here)."""
    nsi = NSI.read_text()
    assert "!define MULTIUSER_EXECUTIONLEVEL Admin" in nsi and "MULTIUSER_USE_PROGRAMFILES64" in nsi
    assert 'StrCpy $ConfigDir "$APPDATA\\Custos"' in nsi and nsi.count("SetShellVarContext all") >= 2
    assert "/inheritance:r /grant:r ${SID_ADMINS}:(OI)(CI)F ${SID_SYSTEM}:(OI)(CI)F ${SID_USERS}:(OI)(CI)RX" in nsi
    assert '!define SID_USERS "*S-1-5-32-545"' in nsi and '!define SID_ADMINS "*S-1-5-32-544"' in nsi
    assert '!insertmacro LockDown "$ConfigDir"' in nsi and '!insertmacro LockDown "$INSTDIR"' in nsi
    assert '"/PURGE"' in nsi and "$SMPROGRAMS\\${PRODUCT}.lnk" in nsi
    # the client reads what the installer writes
    from agent_client.config import SYSTEM_CONFIG_FILE_NAME, TUF_ROOT_FILE_NAME

    assert f'"/oname={SYSTEM_CONFIG_FILE_NAME}"' in nsi and f'"/oname={TUF_ROOT_FILE_NAME}"' in nsi


def test_script_will_not_compile_without_a_config(work, tmp_path):
    done = subprocess.run(
        ["makensis", "-V1", "-DVERSION=0.1.0", f"-DPAYLOAD_DIR={work / 'payload' / 'custos-agent'}"]
        + [f"-DOUTFILE={tmp_path / 'x.exe'}", str(NSI)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "CONFIG_FILE" in done.stdout + done.stderr and not (tmp_path / "x.exe").exists()
