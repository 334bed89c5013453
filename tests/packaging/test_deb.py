"""The signed .deb end to end: gpgv, real apt against the signed repository, dpkg --root, the frozen self-test.

One build per session (see conftest). apt runs with its own sources, state and
cache in tmp and trusts only the test key (``signed-by=``); dpkg installs into
a throwaway root; the installed frozen binary starts under a private Xvfb
with a real Secret Service (gnome-keyring on a private D-Bus session).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from configparser import ConfigParser
from pathlib import Path

import pytest

from tests.packaging.conftest import require_tools
from tests.support.xvfb import in_ci, private_display

pytestmark = [pytest.mark.packaging, pytest.mark.gui]

CONFIG_REL = Path("etc/custos-agent/custos-agent.toml")
BINARY_REL = Path("opt/custos-agent/custos-agent")


def flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x01]))


class Apt:
    """apt-get with its own sources, state and cache, trusting one keyring for one file: repository."""

    def __init__(self, base: Path, repo: Path, keyring: Path) -> None:
        self.base = base
        for sub in ("etc/parts", "state/lists/partial", "cache/archives/partial", "downloads"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        (base / "status").touch()
        (base / "etc/sources.list").write_text(f"deb [signed-by={keyring}] file:{repo} custos main\n")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        b = self.base
        options = {
            "Dir::Etc::sourcelist": b / "etc/sources.list",
            "Dir::Etc::sourceparts": b / "etc/parts",
            "Dir::Etc::preferencesparts": b / "etc/parts",
            "Dir::Etc::trustedparts": b / "etc/parts",
            "Dir::State": b / "state",
            "Dir::State::status": b / "status",
            "Dir::Cache": b / "cache",
            "Debug::NoLocking": "1",
            "APT::Sandbox::User": "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody"),
        }
        argv = ["apt-get", "-q"]
        for name, value in options.items():
            argv += ["-o", f"{name}={value}"]
        return subprocess.run(
            [*argv, *args],
            cwd=b / "downloads",
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "LC_ALL": "C"},
        )


def copy_repo(build, tmp_path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(build.repo, target)
    return target


def gpgv(keyring: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["gpgv", "--keyring", str(keyring), *map(str, files)], capture_output=True, text=True)


# --- the detached signature -------------------------------------------------------------


def test_detached_signature_verifies(build, signing_key):
    result = gpgv(signing_key.public_keyring, build.signature, build.deb)
    assert result.returncode == 0, result.stderr
    assert "Good signature" in result.stderr


def test_deb_with_one_byte_changed_fails_gpgv(build, signing_key, tmp_path):
    tampered = tmp_path / build.deb.name
    shutil.copyfile(build.deb, tampered)
    flip_byte(tampered, tampered.stat().st_size // 2)
    result = gpgv(signing_key.public_keyring, build.signature, tampered)
    assert result.returncode != 0
    assert "BAD signature" in result.stderr


def test_signature_by_another_key_fails_gpgv(build, other_key, signing_key, tmp_path):
    forged = tmp_path / "forged.asc"
    subprocess.run(
        ["gpg", "--batch", "--armor", "--detach-sign", "--output", str(forged), str(build.deb)],
        env=other_key.env(),
        check=True,
        capture_output=True,
    )
    result = gpgv(signing_key.public_keyring, forged, build.deb)
    assert result.returncode != 0
    assert "No public key" in result.stderr or "public key not found" in result.stderr


# --- the apt repository -------------------------------------------------------------------


def test_repository_has_release_inrelease_and_release_gpg_that_verify(build, signing_key):
    dists = build.repo / "dists" / "custos"
    assert gpgv(signing_key.public_keyring, dists / "InRelease").returncode == 0
    assert gpgv(signing_key.public_keyring, dists / "Release.gpg", dists / "Release").returncode == 0
    assert (build.repo / "custos-archive-keyring.gpg").read_bytes() == signing_key.public_keyring.read_bytes()


def test_apt_verifies_the_repository_and_downloads_the_same_deb(build, signing_key, tmp_path):
    require_tools("apt-get")
    apt = Apt(tmp_path / "apt", build.repo, signing_key.public_keyring)
    update = apt.run("update")
    assert update.returncode == 0, update.stdout + update.stderr
    assert "W:" not in update.stdout + update.stderr  # no "not signed", no unknown key
    download = apt.run("download", "custos-agent")
    assert download.returncode == 0, download.stdout + download.stderr
    fetched = apt.base / "downloads" / build.deb.name
    assert fetched.read_bytes() == build.deb.read_bytes()


def test_apt_refuses_a_repository_signed_by_another_key(build, other_key, tmp_path):
    apt = Apt(tmp_path / "apt", build.repo, other_key.public_keyring)
    update = apt.run("update")
    assert update.returncode != 0
    assert "NO_PUBKEY" in update.stdout + update.stderr


def test_apt_refuses_a_packages_file_altered_after_signing(build, signing_key, tmp_path):
    repo = copy_repo(build, tmp_path)
    packages = repo / "dists/custos/main/binary-amd64/Packages"
    text = packages.read_text()
    altered = re.sub(r"^Description: .*$", "Description: not what was signed", text, count=1, flags=re.M)
    assert altered != text
    packages.write_text(altered)
    subprocess.run(["gzip", "-9nf", "-k", str(packages)], check=True)  # the .gz apt prefers, too
    update = Apt(tmp_path / "apt", repo, signing_key.public_keyring).run("update")
    output = update.stdout + update.stderr
    assert update.returncode != 0
    assert "Hash Sum mismatch" in output or "Hashes of expected file" in output


def test_apt_refuses_a_release_file_altered_after_signing(build, signing_key, tmp_path):
    repo = copy_repo(build, tmp_path)
    for name in ("InRelease", "Release"):
        path = repo / "dists/custos" / name
        path.write_text(path.read_text().replace("Label: Custos agent", "Label: Custos agenT"))
    update = Apt(tmp_path / "apt", repo, signing_key.public_keyring).run("update")
    output = update.stdout + update.stderr
    assert update.returncode != 0
    assert "BADSIG" in output


def test_apt_refuses_a_package_altered_after_signing(build, signing_key, tmp_path):
    repo = copy_repo(build, tmp_path)
    (pooled,) = repo.glob("pool/main/c/custos-agent/*.deb")
    flip_byte(pooled, pooled.stat().st_size // 2)
    apt = Apt(tmp_path / "apt", repo, signing_key.public_keyring)
    assert apt.run("update").returncode == 0  # the indices are intact
    download = apt.run("download", "custos-agent")
    assert download.returncode != 0
    assert "Hash Sum mismatch" in download.stdout + download.stderr
    assert not list((apt.base / "downloads").glob("*.deb"))


# --- installed into a throwaway root ------------------------------------------------------


@pytest.fixture(scope="module")
def installed_root(build, tmp_path_factory):
    require_tools("dpkg")
    if os.geteuid() != 0:
        reason = "dpkg --root needs root to give the files to root:root"
        if in_ci():
            pytest.fail(f"{reason}; CI must install the .deb")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("root")
    for sub in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log"):
        (root / sub).mkdir(parents=True)
    (root / "var/lib/dpkg/status").touch()
    result = subprocess.run(
        ["dpkg", f"--root={root}", "--force-depends", "-i", str(build.deb)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_provisioned_config_is_root_owned_and_not_writable_by_others(installed_root, build):
    directory = installed_root / CONFIG_REL.parent
    config = installed_root / CONFIG_REL
    for path, mode in ((directory, 0o755), (config, 0o644)):
        info = path.lstat()
        assert (info.st_uid, info.st_gid) == (0, 0), path
        assert info.st_mode & 0o7777 == mode, (path, oct(info.st_mode))
    assert config.read_bytes() == build.config.read_bytes()
    conffiles = subprocess.run(
        ["dpkg-query", f"--admindir={installed_root}/var/lib/dpkg", "-W", "-f=${Conffiles}", "custos-agent"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"/{CONFIG_REL} " in conffiles


def test_no_installed_file_is_group_or_world_writable(installed_root):
    for path in installed_root.rglob("*"):
        if "var" in path.relative_to(installed_root).parts[:1] or path.is_symlink():
            continue
        assert path.lstat().st_mode & 0o022 == 0, path


def test_launcher_desktop_entry_and_icon(installed_root):
    link = installed_root / "usr/bin/custos-agent"
    assert link.is_symlink() and os.readlink(link) == f"/{BINARY_REL}"
    assert os.access(installed_root / BINARY_REL, os.X_OK)
    entry = ConfigParser(interpolation=None)
    entry.read(installed_root / "usr/share/applications/custos-agent.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Exec"] == "/usr/bin/custos-agent"
    icon = section["Icon"]
    assert (installed_root / f"usr/share/icons/hicolor/scalable/apps/{icon}.svg").is_file()
    assert (installed_root / f"usr/share/icons/hicolor/256x256/apps/{icon}.png").read_bytes()[
        :8
    ] == b"\x89PNG\r\n\x1a\n"


def test_bundle_leaves_out_the_server_and_unneeded_qt_plugins(installed_root):
    internal = installed_root / "opt/custos-agent/_internal"
    names = {path.name for path in internal.iterdir()}
    for package in ("owner_server", "fastapi", "sqlalchemy", "sqlmodel", "uvicorn", "alembic", "psycopg"):
        assert package not in names
    platforms = {path.name for path in (internal / "PySide6/Qt/plugins/platforms").iterdir()}
    assert "libqxcb.so" in platforms
    assert platforms <= {"libqxcb.so", "libqwayland.so", "libqwayland-generic.so", "libqwayland-egl.so"}
    assert not (internal / "PySide6/Qt/plugins/platformthemes").exists()
    assert (internal / "agent_client/i18n/custos_pl.qm").is_file()
    qt_catalogues = {path.name for path in (internal / "PySide6/Qt/translations").iterdir()}
    assert "qtbase_pl.qm" in qt_catalogues
    assert all(name.endswith(("_pl.qm", "_en.qm")) for name in qt_catalogues), qt_catalogues


def test_depends_names_every_system_library_the_bundle_links_against(installed_root):
    control = subprocess.run(
        ["dpkg-query", f"--admindir={installed_root}/var/lib/dpkg", "-W", "-f=${Depends}", "custos-agent"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    depends = {re.split(r"[ (]", item.strip())[0] for item in control.split(",")}
    bundle = installed_root / "opt/custos-agent"
    carried = {path.name for path in bundle.rglob("*")}
    elves = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink() and p.read_bytes()[:4] == b"\x7fELF"]
    needed: set[str] = set()
    for elf in elves:
        listing = subprocess.run(["objdump", "-p", str(elf)], capture_output=True, text=True).stdout
        needed |= set(re.findall(r"^\s+NEEDED\s+(\S+)$", listing, flags=re.M))
    outside = sorted(name for name in needed - carried if not name.startswith("ld-linux"))
    assert outside, "the bundle should leave libc and GL to the system"
    for name in outside:
        owner = subprocess.run(["dpkg", "-S", f"*/{name}"], capture_output=True, text=True)
        assert owner.returncode == 0, f"no package holds {name}"
        packages = {line.split(":")[0] for line in owner.stdout.splitlines()}
        assert packages & depends, f"{name} comes from {packages}, none in Depends: {control}"


# --- the frozen binary, installed, under Xvfb --------------------------------------------


@pytest.fixture(scope="module")
def display():
    with private_display() as name:
        yield name


def run_installed(
    installed_root, display, tmp_path, *args: str, secret_service: bool
) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    runtime = tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "LANG": "C.UTF-8",
    }
    binary = installed_root / BINARY_REL
    argv = [str(binary), "--self-test", "--config", str(installed_root / CONFIG_REL), *args]
    if secret_service:
        # A real Secret Service: gnome-keyring on a private session bus, its login keyring unlocked.
        script = 'printf throwaway | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$@"'
        argv = ["dbus-run-session", "--", "sh", "-c", script, "sh", *argv]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def test_installed_binary_self_test_passes_with_a_real_secret_service(installed_root, display, tmp_path):
    require_tools("dbus-run-session", "gnome-keyring-daemon")
    result = run_installed(installed_root, display, tmp_path, secret_service=True)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"PASS config: {installed_root / CONFIG_REL} (server https://custos.example:8443)"
    assert lines[1].startswith("PASS ca: pinned CA 'Test Custos CA' valid until ")
    assert lines[2] == "PASS keyring: keyring.backends.SecretService.Keyring"
    assert lines[3] == "PASS translations: custos_pl.qm loads"
    assert lines[4] == "PASS qt: platform plugin 'xcb' started"
    assert lines[5] == "self-test passed (5 checks)"


def test_installed_binary_self_test_fails_without_a_secure_keyring(installed_root, display, tmp_path):
    result = run_installed(installed_root, display, tmp_path, secret_service=False)
    assert result.returncode == 1
    assert "FAIL keyring: no OS keyring is available (keyring.backends.fail.Keyring)" in result.stdout
    assert result.stdout.splitlines()[-1] == "self-test FAILED: keyring"


def test_installed_binary_self_test_with_ephemeral_keyring_says_memory(installed_root, display, tmp_path):
    result = run_installed(installed_root, display, tmp_path, "--ephemeral-keyring", secret_service=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS keyring: memory (--ephemeral-keyring: nothing is kept after exit)" in result.stdout


def test_installed_binary_self_test_fails_on_a_damaged_config(installed_root, display, tmp_path):
    damaged_root = tmp_path / "root"
    (damaged_root / CONFIG_REL.parent).mkdir(parents=True)
    text = (installed_root / CONFIG_REL).read_text()
    (damaged_root / CONFIG_REL).write_text(text.replace("MII", "MIX", 1))
    (damaged_root / "opt").symlink_to(installed_root / "opt")
    result = run_installed(damaged_root, display, tmp_path, "--ephemeral-keyring", secret_service=False)
    assert result.returncode == 1
    assert "FAIL config: deployment config ca_certificate is not a valid PEM certificate" in result.stdout
    assert "FAIL ca:" in result.stdout
