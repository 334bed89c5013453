"""``serve --workers N``: refused on SQLite with one line before anything is opened; said in ``--help``.

The working case (PostgreSQL, real processes over TLS) is ``tests/e2e/test_several_processes.py``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from owner_server.cli.serve_workers import sqlite_refusal
from owner_server.core.datadir import init_data_dir


def _serve(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "WEB_CONCURRENCY"}
    return subprocess.run(
        [sys.executable, "-m", "owner_server", "serve", "--data-dir", str(data_dir), "--console-port", "0", *args],
        capture_output=True,
        text=True,
        env={**base, "COLUMNS": "200", **(env or {})},
        timeout=120,
    )


@pytest.fixture
def sqlite_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    init_data_dir(data, organisation="Test Owner", host_names=["127.0.0.1"], public_url="https://127.0.0.1:1")
    return data


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("args", "env", "workers"),
    [
        (("--workers", "2"), None, 2),
        ((), {"WEB_CONCURRENCY": "3"}, 3),  # the variable uvicorn and gunicorn read; it used to exit with a traceback
    ],
)
def test_several_workers_on_sqlite_is_one_line_and_exit_2_changing_nothing(sqlite_dir, args, env, workers):
    before = _digest(sqlite_dir / "custos.db")
    done = _serve(sqlite_dir, *args, "--port", "1", env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"error: {sqlite_refusal(workers)}"]
    assert "Traceback" not in done.stdout + done.stderr
    assert _digest(sqlite_dir / "custos.db") == before  # refused before the database was opened
    assert not (sqlite_dir / "audit").exists()  # no checkpoint was signed or anchored


def test_zero_workers_is_refused_by_the_option(sqlite_dir):
    done = _serve(sqlite_dir, "--workers", "0")
    assert done.returncode == 2 and "--workers" in done.stderr


def test_help_says_what_workers_do_and_why_not_on_sqlite(sqlite_dir):
    done = _serve(sqlite_dir, "--help")
    text = " ".join(done.stdout.split())
    assert "--workers" in text and "PostgreSQL only" in text and "SQLite" in text and "one writer" in text
