"""End to end: the real client, started under a real tracer on an enrolled computer, refuses and the owner sees why.

A real server process over TLS (``live_server``); the device enrolled through the client's own
API code; the client process under ``strace -f`` (TracerPid set); the audit entry read back from
the server's database and the chain verified.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from agent_client.api import AgentApi
from agent_client.config import build_ssl_context, load_deployment_config
from agent_client.credentials import SERVICE_NAME, DeviceIdentity, new_device_key, public_key_b64
from agent_client.refusal import EXIT_REFUSED

from .conftest import REPO, cli

pytestmark = pytest.mark.e2e


def test_a_traced_client_refuses_and_the_refusal_is_audited_and_alerted(live_server, tmp_path):
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (scripts/system-deps.sh)")
    config, _ = load_deployment_config(live_server.deployment)
    key = new_device_key()
    api = AgentApi(config.api_base_url, ssl_context=build_ssl_context(config.ca_certificate))
    try:
        enrolled = api.enrol(
            enrolment_code=live_server.enrolment_code, public_key_b64=public_key_b64(key), device_name="pc"
        )
    finally:
        api.close()
    identity = DeviceIdentity(device_id=enrolled.device_id, login=enrolled.login, private_key=key)
    secrets = tmp_path / "keyring.json"
    secrets.write_text(json.dumps({f"{SERVICE_NAME}/device@{config.server_url}": identity.to_secret()}))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "conf"),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "tests.e2e.env_keyring.EnvFileKeyring",
        "CUSTOS_TEST_KEYRING": str(secrets),
    }
    argv = [
        strace,
        "-f",
        "-o",
        os.devnull,
        sys.executable,
        "-m",
        "agent_client",
        "--config",
        str(live_server.deployment),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=REPO, check=False)
    assert done.returncode == EXIT_REFUSED and done.stderr.strip().endswith("[debugger_attached]"), done.stderr[-2000:]

    db = sqlite3.connect(live_server.data_dir / "custos.db")
    try:
        rows = db.execute("SELECT actor, object_id, details FROM auditentry WHERE action = 'client_integrity_refused'")
        [(actor, device_id, details)] = rows.fetchall()
        [(rule,)] = db.execute("SELECT rule FROM alert WHERE rule = 'client_integrity'").fetchall()
    finally:
        db.close()
    details = json.loads(details)
    assert device_id == enrolled.device_id and actor.startswith("agent:")
    assert (details["login"], details["reason"], details["address"]) == (
        live_server.login,
        "debugger_attached",
        "127.0.0.1",
    )
    verify = cli(live_server.data_dir, "audit", "verify", "--json", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
