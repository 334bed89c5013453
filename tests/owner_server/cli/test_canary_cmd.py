"""``custos-server canary add`` as a real process: a --json report, one clear line and exit 2 on bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from owner_server.demo.sample import write_sample
from tests.support.leaks import assert_no_phone

from .test_cli import POLICY, run

TRAPS = "+48 22 555 01 01\n22 555 02 02\n"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("canary")
    path = base / "data"
    assert run(path, "init", "--json").returncode == 0
    assert run(path, "campaign", "create", "Camp", "--policy", str(POLICY)).returncode == 0
    sample = base / "real.csv"
    write_sample(sample, 5, seed=3)
    assert run(path, "import", str(sample), "--campaign", "Camp", "--json").returncode == 0
    return path


def _counts(data_dir: Path) -> tuple[int, int]:
    with sqlite3.connect(data_dir / "custos.db") as db:
        canaries = db.execute("SELECT count(*) FROM contact WHERE is_canary").fetchone()[0]
        audited = db.execute("SELECT count(*) FROM auditentry WHERE action = 'canary_added'").fetchone()[0]
    return canaries, audited


def test_canary_add_reports_refs_and_counts(data_dir, tmp_path):
    traps = tmp_path / "traps.txt"
    traps.write_text(TRAPS, encoding="utf-8")
    before = _counts(data_dir)
    done = run(data_dir, "canary", "add", "--campaign", "Camp", "--phones", str(traps), "--count", "3", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert (body["campaign"], body["added"], body["trap_numbers"], len(body["refs"])) == ("Camp", 3, 2, 3)
    assert_no_phone(done.stdout, *TRAPS.splitlines())
    assert _counts(data_dir) == (before[0] + 3, before[1] + 1)
    plain = run(data_dir, "canary", "add", "--campaign", "Camp", "--phones", str(traps))
    assert plain.returncode == 0 and "Added 2 canary contacts" in plain.stdout


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        ("+48 22 555 01 01\nnot a number\n", (), "record 2:"),
        (TRAPS, ("--campaign", "Nope"), "not found"),
        (b"\xff\xfe5\x00", (), "not UTF-8"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(data_dir, tmp_path, content, args, expected):
    traps = tmp_path / "traps.txt"
    if isinstance(content, bytes):
        traps.write_bytes(content)
    else:
        traps.write_text(content, encoding="utf-8")
    before = _counts(data_dir)
    campaign = () if "--campaign" in args else ("--campaign", "Camp")
    done = run(data_dir, "canary", "add", *campaign, "--phones", str(traps), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert _counts(data_dir) == before


def test_a_trap_number_on_the_dnc_list_is_refused(data_dir, tmp_path):
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("+48 58 555 09 09\n", encoding="utf-8")
    assert run(data_dir, "dnc", "import", str(dnc)).returncode == 0
    traps = tmp_path / "traps.txt"
    traps.write_text("+48 22 555 07 07\n58 555 09 09\n", encoding="utf-8")
    before = _counts(data_dir)
    done = run(data_dir, "canary", "add", "--campaign", "Camp", "--phones", str(traps))
    assert done.returncode == 2 and "record 2: the number is on the do-not-call list" in done.stderr
    assert _counts(data_dir) == before
