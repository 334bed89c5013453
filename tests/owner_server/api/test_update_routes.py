"""The update routes of the agent app (/updates/metadata, /updates/targets): public, read-only, no traversal."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from owner_server.api.app import create_app
from tests.support.updates import init_repository, installer, repository


@pytest.fixture
def served(installation, tmp_path):
    repo = init_repository(installation, tmp_path / "rootkeys")
    release = repo.add(installer(tmp_path, "0.2.0"), version="0.2.0", platform="windows")
    (installation.settings.data_dir / "updates" / "secret.json").write_text("{}")  # beside metadata/, never served
    client = TestClient(create_app(installation.settings, engine=installation.engine, keys=installation.keys))
    yield repo, release, client
    client.close()


def test_metadata_and_targets_are_served_without_login(served):
    repo, release, client = served
    stamp = client.get("/updates/metadata/timestamp.json")
    assert stamp.status_code == 200 and stamp.headers["cache-control"] == "no-store"
    assert stamp.content == (repo.layout.metadata / "timestamp.json").read_bytes()
    assert client.get("/updates/metadata/root.json").headers["cache-control"] == "no-store"
    versioned = client.get("/updates/metadata/1.root.json")
    assert versioned.status_code == 200 and "immutable" in versioned.headers["cache-control"]
    target = client.get(f"/updates/targets/{release.sha256}.{release.name}")
    assert target.status_code == 200 and len(target.content) == release.length


@pytest.mark.parametrize(
    "path",
    [
        "/updates/metadata/..%2Fsecret.json",
        "/updates/metadata/..%2Fkeys%2Ftargets-kek1.pem",
        "/updates/metadata/../secret.json",
        "/updates/metadata/%2e%2e%2fsecret.json",
        "/updates/metadata/..",
        "/updates/metadata/9.root.json",
        "/updates/metadata/snapshot.json",
        "/updates/metadata/..%5Csecret.json",
        "/updates/targets/..%2F..%2Fsettings.toml",
        "/updates/targets/..%2Fkeys%2Ftargets-kek1.pem",
        "/updates/targets/" + "0" * 64 + ".missing.exe",
        "/updates/targets/%2Fetc%2Fpasswd",
    ],
)
def test_no_name_reaches_outside_the_repository(served, path):
    _repo, _release, client = served
    response = client.get(path)
    assert response.status_code == 404
    assert b"PRIVATE" not in response.content and response.content != b"{}"


def test_nothing_but_get_is_answered(served):
    repo, release, client = served
    stamp = (repo.layout.metadata / "timestamp.json").read_bytes()
    assert client.put("/updates/metadata/timestamp.json", content=b"{}").status_code in (400, 405)
    assert client.delete(f"/updates/targets/{release.sha256}.{release.name}").status_code in (400, 405)
    assert (repo.layout.metadata / "timestamp.json").read_bytes() == stamp
    assert (repo.layout.targets / f"{release.sha256}.{release.name}").is_file()


def test_the_running_app_re_signs_a_timestamp_near_expiry(installation, tmp_path):
    init_repository(installation, tmp_path / "rootkeys")
    repository(installation, clock=lambda: datetime.now(UTC) - timedelta(hours=13)).resign_timestamp()
    stale = repository(installation).expiries()["timestamp"]
    app = create_app(installation.settings, engine=installation.engine, keys=installation.keys)
    with TestClient(app):  # runs the lifespan: the refresher looks at start
        deadline = time.monotonic() + 30
        while repository(installation).expiries()["timestamp"] == stale and time.monotonic() < deadline:
            time.sleep(0.05)
    assert repository(installation).expiries()["timestamp"] > stale + timedelta(hours=12)
