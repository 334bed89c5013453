"""Issue 10: every command answers a wrong path, an unreachable database, a full disk with one line and exit 2."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from owner_server.cli.errors import describe


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CUSTOS_DATA_DIR", "CUSTOS_DEBUG")} | {"COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "owner_server", *args], capture_output=True, text=True, env=env, timeout=120
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip().count("\n") == 0, done.stderr
    return done.stderr.strip()


@pytest.fixture(scope="module")
def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://custos:s3cret-pw@127.0.0.1:{port}/custos"


def test_init_on_a_file_is_one_line(tmp_path):
    target = tmp_path / "passwd"
    target.write_text("root:x:0:0\n")
    assert "is a file, not a directory" in one_line(run("init", "--data-dir", str(target)))
    assert target.read_text() == "root:x:0:0\n"


def test_init_with_an_unreachable_database_leaves_nothing_behind(tmp_path, closed_port_url):
    target = tmp_path / "new" / "data"
    line = one_line(run("init", "--data-dir", str(target), "--database-url", closed_port_url))
    assert "Cannot use the database" in line and "s3cret-pw" not in line
    assert not (tmp_path / "new").exists()
    assert run("init", "--data-dir", str(target)).returncode == 0  # nothing half-made to refuse


def test_commands_on_an_unreachable_database_and_json_errors(tmp_path, closed_port_url):
    data = tmp_path / "data"
    assert run("init", "--data-dir", str(data)).returncode == 0
    line = one_line(run("audit", "verify", "--data-dir", str(data), "--database-url", closed_port_url))
    assert "Cannot use the database" in line and "s3cret-pw" not in line
    bad_url = one_line(run("audit", "verify", "--data-dir", str(data), "--database-url", "nosuchdb://x"))
    assert "database URL is not valid" in bad_url
    error = json.loads(one_line(run("audit", "verify", "--json", "--data-dir", str(tmp_path / "none"))))["error"]
    assert set(error) == {"code", "message"} and "not a Custos data dir" in error["message"]


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/data/custos.db"), "disk_full", "The disk is full"),
        (PermissionError(errno.EACCES, "Permission denied", "/data/keys"), "permission_denied", "Permission denied"),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "/etc/passwd"), "file_error", "Not a directory"),
        (RuntimeError("boom with a value"), "internal_error", "Unexpected RuntimeError"),
    ],
)
def test_describe_names_the_kind_and_the_path_only(exc, code, text):
    got_code, message = describe(exc)
    assert got_code == code and message.startswith(text) and "boom" not in message


def test_describe_never_shows_a_database_password():
    engine = create_engine("sqlite:////nonexistent-dir/x.db")
    with pytest.raises(OperationalError) as caught:
        engine.connect()
    code, message = describe(caught.value)
    assert code == "database_unavailable" and message.startswith("Cannot use the database: ")
    leaked = OperationalError("connect", {}, Exception("cannot reach postgresql://custos:hunter22@db.example/custos"))
    assert "hunter22" not in describe(leaked)[1] and "custos:***@" in describe(leaked)[1]


def test_destructive_commands_ask_first_and_refuse_without_a_terminal(tmp_path):
    """Issue 10: ``keys retire`` and ``campaign erase`` need a yes (or ``--yes``); a script gets one line."""
    data = tmp_path / "data"
    assert run("init", "--data-dir", str(data)).returncode == 0
    assert run("keys", "rotate", "--data-dir", str(data)).returncode == 0
    refused = one_line(run("keys", "retire", "1", "--data-dir", str(data)))
    assert "Not confirmed" in refused and "pass --yes" in refused and "nothing was retired" in refused
    assert (data / "keys" / "kek-1.key").exists()
    assert run("keys", "retire", "1", "--yes", "--data-dir", str(data)).returncode == 0
    assert not (data / "keys" / "kek-1.key").exists()
