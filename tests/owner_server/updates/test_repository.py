"""The update repository: keys at rest, refresh before expiry, versions, rotation."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from tuf.api.metadata import Metadata

from owner_server.core.db import session_scope
from owner_server.updates.keys import OnlineKeys
from owner_server.updates.layout import UpdatesLayout, valid_metadata_name, valid_target_file
from owner_server.updates.refresher import refresh_once
from owner_server.vault import rotation as key_rotation
from shared.errors import ConflictError, ValidationError
from tests.support.updates import init_repository, installer, repository


def test_root_keys_stay_offline_and_online_keys_are_encrypted(installation, tmp_path):
    repo = init_repository(installation, tmp_path / "rootkeys", threshold=2, count=3)
    root_files = sorted((tmp_path / "rootkeys").glob("root-*.pem"))
    assert len(root_files) == 3
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in root_files)
    data_dir = installation.settings.data_dir
    assert not [p for p in data_dir.rglob("*.pem") if b"PRIVATE" in p.read_bytes() and "root" in p.name]
    root = repo.root()
    assert root.roles["root"].threshold == 2 and len(root.roles["root"].keyids) == 3
    assert root.consistent_snapshot
    for path in repo.layout.keys.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(TypeError):  # needs the KEK-derived password
            serialization.load_pem_private_key(path.read_bytes(), password=None)
    signed = json.loads((repo.layout.metadata / "root.json").read_bytes())
    assert len(signed["signatures"]) == 3


def test_root_keys_are_refused_inside_the_data_dir(installation):
    with pytest.raises(ValidationError, match="offline"):
        repository(installation).init(installation.settings.data_dir / "keys")
    assert not UpdatesLayout(installation.settings.data_dir).exists()


@pytest.mark.parametrize(("threshold", "count"), [(0, 1), (2, 1), (1, 10)])
def test_bad_thresholds_are_refused(installation, tmp_path, threshold, count):
    with pytest.raises(ValidationError):
        repository(installation).init(tmp_path, threshold=threshold, count=count)


def test_init_twice_is_refused(installation, tmp_path):
    init_repository(installation, tmp_path / "rootkeys")
    with pytest.raises(ConflictError):
        (tmp_path / "other").mkdir()
        repository(installation).init(tmp_path / "other")


def test_versions_must_grow_per_platform(installation, tmp_path):
    repo = init_repository(installation, tmp_path / "rootkeys")
    repo.add(installer(tmp_path, "0.2.0"), version="0.2.0", platform="windows")
    for version in ("0.2.0", "0.1.9", "0.2"):
        with pytest.raises(ValidationError, match="not newer"):
            repo.add(installer(tmp_path, version + ".1x"), version=version, platform="windows")
    repo.add(installer(tmp_path, "0.1.0", "linux"), version="0.1.0", platform="linux")  # another platform
    with pytest.raises(ValidationError):
        repo.add(tmp_path, version="0.3.0", platform="windows")  # a directory
    assert [(r.platform, r.version) for r in repo.releases()] == [("linux", "0.1.0"), ("windows", "0.2.0")]


def test_refresh_re_signs_what_nears_expiry(installation, tmp_path):
    repo = init_repository(installation, tmp_path / "rootkeys")
    now = datetime.now(UTC)
    assert repository(installation, clock=lambda: now + timedelta(hours=1)).refresh() == []
    before = repo.expiries()
    later = repository(installation, clock=lambda: now + timedelta(hours=13))
    assert later.refresh() == ["timestamp"]
    assert later.expiries()["timestamp"] > before["timestamp"] and later.expiries()["snapshot"] == before["snapshot"]
    week = repository(installation, clock=lambda: now + timedelta(days=6))
    assert week.refresh() == ["snapshot", "timestamp"]
    assert week.expiries()["snapshot"] > before["snapshot"]


def test_the_server_refresher_never_raises(installation, tmp_path, caplog):
    assert refresh_once(repository(installation)) == []  # no repository yet
    repo = init_repository(installation, tmp_path / "rootkeys")
    for path in repo.layout.keys.iterdir():
        path.write_bytes(b"damaged")
    soon = repository(installation, clock=lambda: datetime.now(UTC) + timedelta(hours=20))
    assert refresh_once(soon) == []
    assert "refreshing the update metadata failed" in caplog.text


def test_online_keys_follow_a_kek_rotation(installation, tmp_path):
    repo = init_repository(installation, tmp_path / "rootkeys")
    with session_scope(installation.engine) as session:
        version, _ = key_rotation.rotate_kek(session, keys=installation.keys, actor="admin:test")
    OnlineKeys(repo.layout, installation.keys.provider).rewrap()
    assert sorted(p.name for p in repo.layout.keys.iterdir()) == [
        f"{role}-kek{version}.pem" for role in ("snapshot", "targets", "timestamp")
    ]
    assert repo.resign_timestamp() == 2


def test_rotation_needs_the_threshold_of_root_keys(installation, tmp_path):
    repo = init_repository(installation, tmp_path / "rootkeys", threshold=2, count=3)
    partial = tmp_path / "partial"
    partial.mkdir()
    first = sorted((tmp_path / "rootkeys").glob("root-*.pem"))[0]
    (partial / first.name).write_bytes(first.read_bytes())
    with pytest.raises(ValidationError, match="1 of the 2"):
        repo.rotate_online(partial)
    old_keys = set(repo.root().roles["timestamp"].keyids)
    assert repo.rotate_online(tmp_path / "rootkeys") == 2
    new_root = Metadata.from_file(str(repo.layout.metadata / "2.root.json"))
    assert set(new_root.signed.roles["timestamp"].keyids).isdisjoint(old_keys)
    assert len(new_root.signatures) == 3


@pytest.mark.parametrize(
    "name",
    ["timestamp.json", "root.json", "1.root.json", "12.targets.json", "3.snapshot.json"],
)
def test_served_metadata_names(name):
    assert valid_metadata_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "../root.json",
        "..",
        "0.root.json",
        "1.timestamp.json",
        "snapshot.json",
        "root.json.bak",
        "a/root.json",
        "1.root.json\x00",
        ".root.json",
        "01.root.json",
        "keys",
        "targets-kek1.pem",
    ],
)
def test_other_metadata_names_are_refused(name):
    assert not valid_metadata_name(name)


def test_target_file_names():
    digest = "a" * 64
    assert valid_target_file(f"{digest}.custos-agent_0.2.0_amd64.deb")
    for bad in (f"{digest}..deb", f"{digest}.../x", "A" * 64 + ".x.deb", f"{digest}.", f"{digest}.a/b", "x.deb"):
        assert not valid_target_file(bad)
