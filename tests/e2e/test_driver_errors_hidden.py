"""A driver error in a real server process: its traceback in the server's log names no bound value.

One real ``custos-server serve`` over TLS on loopback (SQLite). Two tables
the agent API reads are renamed under it, so the next statements on them fail
in the driver: the bearer token's lookup (the prebuilt statement on the DB-API
cursor, bound to the token's SHA-256) and the nonce's device lookup (an ORM
``Session.get``, bound to the device id sent). Both answer 500; uvicorn logs
each traceback; neither the hash nor the device id is in the log.
"""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest

from owner_server.identity.sessions import token_hash
from owner_server.models import AccessToken, Device
from owner_server.models._common import table_of
from tests.support.multi_server import contained_policy, free_port, seed, serve
from tests.support.wire_agent import tls_context

pytestmark = [pytest.mark.e2e]

TOKEN = "e2e-bearer-token-never-logged-7f1d"
DEVICE_ID = "device-id-never-logged-41c2"


def test_a_driver_error_logs_its_statement_but_not_its_bound_values(tmp_path):
    seeded = seed(tmp_path, "", policy=contained_policy(), contacts=5, agents={"BPO": 1})
    port, log = free_port(), tmp_path / "server.log"
    with serve(seeded.data_dir, port, log):
        database = sqlite3.connect(seeded.data_dir / "custos.db")
        for name in (table_of(AccessToken).name, table_of(Device).name):
            database.execute(f'ALTER TABLE "{name}" RENAME TO "{name}_away"')
        database.commit()
        database.close()
        api = f"https://127.0.0.1:{port}/api/v1/agent"
        with httpx.Client(verify=tls_context(seeded.ca), timeout=30) as client:  # a 500 closes its connection
            token_answer = client.post(f"{api}/next", json={}, headers={"Authorization": f"Bearer {TOKEN}"})
        with httpx.Client(verify=tls_context(seeded.ca), timeout=30) as client:
            nonce_answer = client.post(f"{api}/nonce", json={"device_id": DEVICE_ID})
        assert (token_answer.status_code, nonce_answer.status_code) == (500, 500)
        deadline = time.monotonic() + 10
        while log.read_text(errors="replace").count("Traceback") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    logged = log.read_text(errors="replace")
    assert logged.count("sqlite3.OperationalError") >= 2, logged[-3000:]  # both failures were logged, in full
    for secret in (token_hash(TOKEN), TOKEN, DEVICE_ID):
        assert secret not in logged
    assert "parameters hidden" in logged
    assert token_hash(TOKEN) not in token_answer.text and DEVICE_ID not in nonce_answer.text
