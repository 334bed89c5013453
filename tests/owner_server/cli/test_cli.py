"""``custos-server`` as a real process: clear errors, --json reports, no tracebacks."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
POLICY = REPO / "owner_server" / "demo" / "policy.toml"


def run(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUSTOS_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "owner_server", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "data"
    done = run(path, "init", "--json")
    assert done.returncode == 0, done.stderr
    assert run(path, "campaign", "create", "Camp", "--policy", str(POLICY)).returncode == 0
    return path


def test_init_creates_protected_files_and_refuses_existing_dir(data_dir):
    for name in (
        "keys/kek-1.key",
        "keys/audit-signing.pem",
        "tls/ca-key.pem",
        "tls/server-key.pem",
        "settings.toml",
        "custos.db",
    ):
        assert (data_dir / name).stat().st_mode & 0o077 == 0, name
    deployment = (data_dir / "deployment" / "custos-agent.toml").read_text()
    assert "BEGIN CERTIFICATE" in deployment and "PRIVATE" not in deployment
    again = run(data_dir, "init")
    assert again.returncode != 0 and "refusing" in again.stderr and "Traceback" not in again.stderr


def test_uninitialised_dir_gives_clear_error(tmp_path):
    done = run(tmp_path / "nothing", "audit", "verify")
    assert done.returncode == 2 and "custos-server init" in done.stderr and "Traceback" not in done.stderr


def test_bad_policy_file_is_refused(data_dir, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[fields]\nname = "shown"\n')
    done = run(data_dir, "campaign", "create", "Bad", "--policy", str(bad))
    assert done.returncode == 2 and "not valid" in done.stderr and "Traceback" not in done.stderr


def test_agent_add_prints_code_and_generated_password_once(data_dir):
    run(data_dir, "outsourcer", "add", "BPO")
    done = run(data_dir, "agent", "add", "zofia", "--outsourcer", "BPO", "--campaign", "Camp", "--json")
    body = json.loads(done.stdout)
    assert len(body["enrolment_code"]) == 14 and len(body["password"]) >= 12
    dup = run(data_dir, "agent", "add", "zofia", "--outsourcer", "BPO", "--campaign", "Camp")
    assert dup.returncode == 2 and "already exists" in dup.stderr


def test_import_dry_run_writes_nothing(data_dir, cases_dir):
    dry = json.loads(
        run(
            data_dir,
            "import",
            str(cases_dir / "case01_cp1250_semicolon.csv"),
            "--campaign",
            "Camp",
            "--dry-run",
            "--json",
        ).stdout
    )
    assert dry["imported"] == 4 and dry["dry_run"] and any("Telefon" in m for m in dry["mapping"])
    real = json.loads(
        run(data_dir, "import", str(cases_dir / "case01_cp1250_semicolon.csv"), "--campaign", "Camp", "--json").stdout
    )
    assert real["imported"] == 4  # the dry run left nothing behind


def test_import_report_is_readable_and_has_no_personal_data(data_dir, cases_dir):
    done = run(data_dir, "import", str(cases_dir / "case05_excel_scientific.csv"), "--campaign", "Camp")
    assert done.returncode == 0
    assert "scientific" in done.stdout and "Halina" not in done.stdout and "Testowa" not in done.stdout


def test_dnc_import_and_keys_commands(data_dir, tmp_path):
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("500 000 001\n+48 600 000 002\nnot a number\n")
    report = json.loads(run(data_dir, "dnc", "import", str(dnc), "--json").stdout)
    assert report["added"] == 2 and report["rejected"] == 1
    rotated = json.loads(run(data_dir, "keys", "rotate", "--json").stdout)
    status = json.loads(run(data_dir, "keys", "status", "--json").stdout)
    assert status["active"] == rotated["kek_version"] and status["wrapped_by"] == {
        str(rotated["kek_version"]): rotated["rewrapped"]
    }
    assert run(data_dir, "audit", "verify").returncode == 0


def test_wrong_kek_stops_serve_with_a_clear_message(tmp_path):
    data_dir = tmp_path / "data"
    assert run(data_dir, "init").returncode == 0
    (data_dir / "keys" / "kek-1.key").write_text(base64.b64encode(os.urandom(32)).decode())
    done = run(data_dir, "serve", "--port", "1")
    assert done.returncode == 2
    assert "wrong key-encryption key" in done.stderr and "Traceback" not in done.stderr


def test_import_with_every_record_rejected_exits_non_zero(data_dir, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Imię;Telefon\nAnna;brak\nJan;4,85E+10\n", encoding="utf-8")
    done = run(data_dir, "import", str(bad), "--campaign", "Camp")
    assert done.returncode == 1 and "no record could be imported" in done.stderr


def test_terminating_the_demo_stops_its_server(tmp_path):
    import signal
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (tmp_path / "demo.log").open("w")
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "owner_server",
            "demo",
            "--data-dir",
            str(tmp_path / "demo"),
            "--port",
            str(port),
            "--contacts",
            "20",
            "--no-client",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "Server:" not in (tmp_path / "demo.log").read_text() and time.monotonic() < deadline:
            assert demo.poll() is None, (tmp_path / "demo.log").read_text()
            time.sleep(0.2)
        # the list is in the vault only: the generated plain-text file is gone once imported
        assert not (tmp_path / "demo" / "sample-contacts.csv").exists()
        import httpx

        from tests.support.wire_agent import tls_context

        tls = tls_context(tmp_path / "demo" / "tls" / "ca.pem")
        assert httpx.get(f"https://127.0.0.1:{port}/no-such-page", verify=tls).status_code == 404
        time.sleep(0.5)
        assert "/no-such-page" not in (tmp_path / "demo.log").read_text(), "the demo's server wrote an access log"
        # issue 10: a second demo on the same data dir must not wipe the running one's data
        second = subprocess.run(
            [sys.executable, "-m", "owner_server", "demo", "--data-dir", str(tmp_path / "demo"), "--no-client"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 2 and "a demo is already running" in second.stderr, second.stderr
        assert second.stderr.strip().count("\n") == 0 and (tmp_path / "demo" / "settings.toml").exists()
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=30)
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, "the demo's server outlived it"
    finally:
        demo.kill()
        log.close()


def test_a_header_only_file_is_an_error_that_writes_nothing(data_dir, tmp_path):
    """Issue 10: it used to say "imported 0", exit 0, and write an import batch and an audit entry."""
    empty = tmp_path / "header.csv"
    empty.write_text("Imię;Telefon\n", encoding="utf-8")
    entries = run(data_dir, "audit", "verify", "--json")
    done = run(data_dir, "import", str(empty), "--campaign", "Camp")
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0
    assert "header but no records" in done.stderr and "Traceback" not in done.stderr
    assert run(data_dir, "audit", "verify", "--json").stdout == entries.stdout


def test_float_artefacts_repairs_and_a_full_dry_run(data_dir, tmp_path):
    """Issue 10: ``.0`` tails only with the flag, repairs listed as warnings, a dry run prints every row."""
    lines = ["Imię;Telefon"] + [f"Anna;6{i:08d}.0" for i in range(1, 71)] + ["Jan;022 123 45 67", "Ewa;#N/D"]
    path = tmp_path / "floats.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run(data_dir, "campaign", "create", "Floats", "--policy", str(POLICY)).returncode == 0
    dry = run(data_dir, "import", str(path), "--campaign", "Floats", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("decimal_number") == 70 and "more rows" not in dry.stdout
    assert "spreadsheet_error" in dry.stdout
    done = run(data_dir, "import", str(path), "--campaign", "Floats", "--accept-float-artefacts", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["imported"] == 71 and report["rejected"] == 1
    codes = [(w["record"], w["code"]) for w in report["warnings"]]
    assert codes.count((71, "repaired_trunk_zero")) == 1
    assert sum(1 for _, code in codes if code == "repaired_float_artefact") == 70
    assert not any(ch.isdigit() for w in report["warnings"] for ch in w["reason"])


def test_the_dry_run_shows_phone3_and_on_and_a_surplus_phone_column(data_dir, tmp_path):
    """Issue 10: every telephone column is a phone slot (phone, phone2, phone3 …) and --dry-run shows it."""
    header = ";".join(["Imię", *(f"Telefon {n}" for n in range(1, 11))])
    path = tmp_path / "phones.csv"
    path.write_text(header + "\nAnna;" + ";".join(f"5000003{n:02d}" for n in range(1, 11)) + "\n", encoding="utf-8")
    assert run(data_dir, "campaign", "create", "Phones", "--policy", str(POLICY)).returncode == 0
    dry = run(data_dir, "import", str(path), "--campaign", "Phones", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert 'column 4 "Telefon 3" -> phone3' in dry.stdout and 'column 10 "Telefon 9" -> phone9' in dry.stdout
    assert "beyond phone9: kept hidden, never dialled" in dry.stdout
    data = json.loads(run(data_dir, "import", str(path), "--campaign", "Phones", "--dry-run", "--json").stdout)
    assert 'column 11 "Telefon 10" -> extra:telefon_10' in data["mapping"][10]


def test_audit_verify_incremental_starts_at_the_latest_checkpoint(data_dir):
    assert run(data_dir, "audit", "checkpoint").returncode == 0
    done = run(data_dir, "audit", "verify", "--incremental", "--json")
    result = json.loads(done.stdout)
    assert done.returncode == 0 and result["ok"] and result["incremental"] and result["checkpoints"] == 1
