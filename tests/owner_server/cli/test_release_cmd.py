"""``custos-server release ...`` as a real process: --json reports, one clear line and exit 2 on bad input."""

from __future__ import annotations

import json
import sqlite3

import pytest

from .test_cli import run


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    base = tmp_path_factory.mktemp("release")
    data_dir = base / "data"
    assert run(data_dir, "init", "--json").returncode == 0
    (base / "rootkeys").mkdir()
    done = run(
        data_dir,
        "release",
        "init",
        "--root-key-dir",
        str(base / "rootkeys"),
        "--threshold",
        "2",
        "--keys",
        "3",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["root_keyids"]) == 3
    assert "CUSTOS_ROOT_KEY_PASSPHRASE is not set" in done.stderr  # one warning line: the root keys are plain
    assert len(done.stderr.strip().splitlines()) == 1
    deb = base / "custos-agent_0.2.0_amd64.deb"
    deb.write_bytes(b"deb 0.2.0" * 100)
    done = run(data_dir, "release", "add", str(deb), "--version", "0.2.0", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["platform"] == "linux"  # told from the suffix
    return base, data_dir


def _one_line_error(done, fragment: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_list_reports_releases_and_expiry(repo):
    _base, data_dir = repo
    body = json.loads(run(data_dir, "release", "list", "--json").stdout)
    assert [(r["platform"], r["version"]) for r in body["releases"]] == [("linux", "0.2.0")]
    assert set(body["expires"]) == {"root", "targets", "snapshot", "timestamp"}
    assert "custos-agent_0.2.0_amd64.deb" in run(data_dir, "release", "list").stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--version", "0.2.0"), "not newer than 0.2.0"),
        (("--version", "banana"), "dotted numbers"),
        (("--version", "0.3.0", "--platform", "macos"), "--platform must be one of"),
    ],
)
def test_bad_adds_are_one_line_and_change_nothing(repo, args, fragment):
    base, data_dir = repo
    before = sorted(p.name for p in (data_dir / "updates" / "metadata").iterdir())
    deb = base / "custos-agent_x_amd64.deb"
    deb.write_bytes(b"other")
    _one_line_error(run(data_dir, "release", "add", str(deb), *args), fragment)
    assert sorted(p.name for p in (data_dir / "updates" / "metadata").iterdir()) == before


def test_adding_a_directory_or_a_missing_file_is_refused(repo):
    base, data_dir = repo
    _one_line_error(
        run(data_dir, "release", "add", str(base), "--version", "9.0", "--platform", "linux"), "not a regular file"
    )
    _one_line_error(run(data_dir, "release", "add", str(base / "none.exe"), "--version", "9.0"), "not a regular file")


def test_release_init_refuses_bad_input(repo, tmp_path):
    base, data_dir = repo
    _one_line_error(
        run(data_dir, "release", "init", "--root-key-dir", str(tmp_path), "--threshold", "3", "--keys", "2"),
        "threshold",
    )
    _one_line_error(run(data_dir, "release", "init", "--root-key-dir", str(data_dir / "keys")), "offline")


def test_commands_before_init_say_so(tmp_path):
    data_dir = tmp_path / "data"
    assert run(data_dir, "init").returncode == 0
    _one_line_error(run(data_dir, "release", "timestamp"), "release init")


def test_timestamp_and_rotation(repo, tmp_path):
    base, data_dir = repo
    stamp = data_dir / "updates" / "metadata" / "timestamp.json"
    before = json.loads(stamp.read_bytes())["signed"]["version"]
    assert json.loads(run(data_dir, "release", "timestamp", "--json").stdout)["timestamp_version"] == before + 1
    _one_line_error(run(data_dir, "release", "keys", "rotate-online", "--root-key-dir", str(tmp_path)), "0 of the 2")
    done = run(data_dir, "release", "keys", "rotate-online", "--root-key-dir", str(base / "rootkeys"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["root_version"] >= 2
    with sqlite3.connect(data_dir / "custos.db") as db:
        actions = [row[0] for row in db.execute("SELECT action FROM auditentry WHERE action LIKE 'release%'")]
    assert {"release_repository_created", "release_added", "release_keys_rotated"} <= set(actions)


def test_keys_rotate_rewraps_the_update_keys(repo):
    _base, data_dir = repo
    kek = json.loads(run(data_dir, "keys", "rotate", "--json").stdout)["kek_version"]
    names = sorted(p.name for p in (data_dir / "updates" / "keys").iterdir())
    assert names == [f"{role}-kek{kek}.pem" for role in ("snapshot", "targets", "timestamp")]
    assert run(data_dir, "release", "timestamp").returncode == 0


def _tree(data_dir):
    updates = data_dir / "updates"
    return {
        str(p.relative_to(updates)): p.read_bytes() for p in updates.rglob("*") if p.is_file() and p.name != ".lock"
    }


def _release_added(data_dir) -> list[str]:
    with sqlite3.connect(data_dir / "custos.db") as db:
        rows = db.execute("SELECT details FROM auditentry WHERE action = 'release_added'").fetchall()
    return [json.loads(row[0])["version"] for row in rows]


def test_a_failed_add_changes_nothing_and_a_retry_publishes_and_audits(repo):
    """Red-team F3: a missing snapshot key used to leave N.targets.json and the target behind, published later."""
    base, data_dir = repo
    (key,) = (data_dir / "updates" / "keys").glob("snapshot-kek*.pem")
    aside = base / key.name
    deb = base / "custos-agent_0.3.0_amd64.deb"
    deb.write_bytes(b"deb 0.3.0" * 100)
    before, audited = _tree(data_dir), _release_added(data_dir)
    key.rename(aside)
    try:
        _one_line_error(
            run(data_dir, "release", "add", str(deb), "--version", "0.3.0"), "the snapshot signing key is missing"
        )
        assert _tree(data_dir) == {k: v for k, v in before.items() if not k.startswith("keys/snapshot-")}
    finally:
        aside.rename(key)
    assert _tree(data_dir) == before
    assert [r["version"] for r in json.loads(run(data_dir, "release", "list", "--json").stdout)["releases"]] == [
        "0.2.0"
    ]
    done = run(data_dir, "release", "add", str(deb), "--version", "0.3.0", "--json")
    assert done.returncode == 0, done.stderr
    assert _release_added(data_dir) == [*audited, "0.3.0"]
    listed = json.loads(run(data_dir, "release", "list", "--json").stdout)["releases"]
    assert [r["version"] for r in listed] == ["0.2.0", "0.3.0"]


def test_a_suffix_for_another_platform_is_refused(repo):
    """Red-team F4: a Windows .exe must not be published as a Linux release (nor a .deb as Windows)."""
    base, data_dir = repo
    before = _tree(data_dir)
    exe = base / "setup-1.0.exe"
    exe.write_bytes(b"MZ" * 50)
    _one_line_error(
        run(data_dir, "release", "add", str(exe), "--version", "1.0", "--platform", "linux"), "is a windows installer"
    )
    deb = base / "custos-agent_1.0_amd64.deb"
    deb.write_bytes(b"deb 1.0")
    _one_line_error(
        run(data_dir, "release", "add", str(deb), "--version", "1.0", "--platform", "windows"), "is a linux installer"
    )
    assert _tree(data_dir) == before


def test_release_init_with_a_root_passphrase_does_not_warn(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    assert run(data_dir, "init").returncode == 0
    (tmp_path / "rootkeys").mkdir()
    monkeypatch.setenv("CUSTOS_ROOT_KEY_PASSPHRASE", "correct horse battery staple")
    done = run(data_dir, "release", "init", "--root-key-dir", str(tmp_path / "rootkeys"))
    assert done.returncode == 0, done.stderr
    assert "unencrypted" not in done.stderr
    (key,) = (tmp_path / "rootkeys").glob("root-*.pem")
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
