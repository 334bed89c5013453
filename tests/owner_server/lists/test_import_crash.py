"""Issue 10: a killed import's workers die with it and its lock is seen at once; Ctrl+C is one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from owner_server.core.process_identity import Liveness, current_process_identity, liveness

POLICY = Path(__file__).resolve().parents[3] / "owner_server" / "demo" / "policy.toml"


def test_liveness_of_this_a_dead_and_a_foreign_process(tmp_path):
    me = current_process_identity()
    assert liveness(me) is Liveness.ALIVE
    child = subprocess.Popen([sys.executable, "-c", "from owner_server.core.process_identity import *; "
                              "print(current_process_identity())"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    dead = child.communicate(timeout=60)[0].strip()
    assert liveness(dead) is Liveness.DEAD
    host, boot, pid, start = me.rsplit(":", 3)
    assert liveness(f"{host}:{boot}:{pid}:{int(start) + 1}") is Liveness.DEAD  # a reused pid
    assert liveness(f"elsewhere:{boot}:{pid}:{start}") is Liveness.UNKNOWN
    assert liveness(None) is Liveness.UNKNOWN


def _cli(data: Path, *args: str, **kwargs) -> subprocess.Popen[str]:
    env = {**os.environ, "CUSTOS_DATA_DIR": str(data), "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "owner_server", *args], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs,
    )  # fmt: skip


def _run(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = _cli(data, *args)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2 :].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


@pytest.fixture
def big_list(tmp_path):
    data = tmp_path / "data"
    assert _run(data, "init").returncode == 0
    assert _run(data, "campaign", "create", "Camp", "--policy", str(POLICY)).returncode == 0
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Imię;Nazwisko;Telefon\n")
        for i in range(120_000):
            fh.write(f"Anna;Nowak;5{i:08d}\n")
    return data, path


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_kill_9_takes_the_workers_and_the_lock_with_it(big_list):
    data, path = big_list
    importing = _cli(data, "import", str(path), "--campaign", "Camp")
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while time.monotonic() < deadline and len(workers) < 1:
        workers = {
            p for p in _children(importing.pid) if "resource_tracker" not in Path(f"/proc/{p}/cmdline").read_text()
        }
        time.sleep(0.2)
    assert workers, "the import started no worker processes"
    time.sleep(1.0)
    importing.send_signal(signal.SIGKILL)
    importing.communicate(timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    assert not any(_alive(p) for p in workers), "workers outlived their killed parent"
    again = _run(data, "import", str(path), "--campaign", "Camp", "--json")
    assert again.returncode == 0, again.stderr  # not "another import into this campaign is running"
    assert '"imported": 120000' in again.stdout


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_ctrl_c_is_one_line_and_imports_nothing(big_list):
    data, path = big_list
    before = _run(data, "audit", "verify", "--json").stdout
    importing = _cli(data, "import", str(path), "--campaign", "Camp")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _children(importing.pid):
        time.sleep(0.2)
    time.sleep(1.0)
    importing.send_signal(signal.SIGINT)
    _, err = importing.communicate(timeout=120)
    assert importing.returncode == 130, err
    assert err.strip() == "error: interrupted; nothing was imported", err
    assert _run(data, "audit", "verify", "--json").stdout == before  # no import was recorded
