"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CASES_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "cases" / "import"


@pytest.fixture
def cases_dir() -> Path:
    """The shared real-world import cases (beside the checkout)."""
    if not CASES_DIR.is_dir():
        pytest.skip(f"shared cases not found at {CASES_DIR}")
    return CASES_DIR


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[object]:
    """A freshly initialised data dir on SQLite, opened."""
    from owner_server.datadir import init_data_dir, open_installation

    data_dir = tmp_path / "data"
    init_data_dir(
        data_dir, organisation="Test Owner", host_names=["localhost", "127.0.0.1"], public_url="https://127.0.0.1:1"
    )
    inst = open_installation(data_dir)
    yield inst
    inst.close()
