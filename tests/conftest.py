"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: Beside the checkout, or where ``CUSTOS_CASES_DIR`` says (a worktree one level deeper).
CASES_DIR = Path(
    os.environ.get("CUSTOS_CASES_DIR") or Path(__file__).resolve().parents[1].parent / "shared" / "cases" / "import"
)


@pytest.fixture
def cases_dir() -> Path:
    """The shared real-world import cases (beside the checkout)."""
    if not CASES_DIR.is_dir():
        pytest.skip(f"shared cases not found at {CASES_DIR}")
    return CASES_DIR


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    """A throwaway PostgreSQL cluster for the whole session (skips when none is installed, fails in CI)."""
    from tests.support.pg_cluster import PgCluster, find_pg_bin

    bin_dir = find_pg_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries are missing in CI (scripts/system-deps.sh installs them)")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    cluster = PgCluster(bin_dir)
    cluster.start()
    yield cluster
    cluster.stop()


def _make_installation(tmp_path: Path, database_url: str = "") -> object:
    from owner_server.core.datadir import init_data_dir, open_installation

    data_dir = tmp_path / "data"
    init_data_dir(
        data_dir,
        organisation="Test Owner",
        host_names=["localhost", "127.0.0.1"],
        public_url="https://127.0.0.1:1",
        database_url=database_url,
    )
    return open_installation(data_dir)


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[object]:
    """A freshly initialised data dir on SQLite, opened."""
    inst = _make_installation(tmp_path)
    yield inst
    inst.close()  # type: ignore[attr-defined]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_installation(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A fresh installation on SQLite, then on its own database in the throwaway PostgreSQL cluster."""
    url = ""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_cluster").new_database()
    inst = _make_installation(tmp_path, url)
    yield inst
    inst.close()  # type: ignore[attr-defined]
