"""Updates end to end: ``release`` through the real CLI, ``custos-server serve`` as a process over TLS, the client's
ngclient check over the pinned TLS context (no system CAs) with the provisioned root."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from agent_client.config import load_deployment_config
from agent_client.updates import HttpxFetcher, LinuxAptEdge, UpdateChecker, UpdateOutcome
from tests.support.updates import RecordingEdge, installer

from .conftest import cli, free_port, running_server

pytestmark = pytest.mark.e2e


def test_a_release_reaches_the_client_through_the_real_server(tmp_path):
    port = free_port()
    data_dir = tmp_path / "data"
    cli(data_dir, "init", "--organisation", "E2E Telecom", "--public-url", f"https://127.0.0.1:{port}")
    rootkeys = tmp_path / "usb"
    rootkeys.mkdir()
    cli(data_dir, "release", "init", "--root-key-dir", str(rootkeys))
    exe = installer(tmp_path, "0.2.0", "windows", size=2 * 1024 * 1024)
    added = json.loads(cli(data_dir, "release", "add", str(exe), "--version", "0.2.0", "--json").stdout)
    deb = installer(tmp_path, "0.2.0", "linux")
    cli(data_dir, "release", "add", str(deb), "--version", "0.2.0")
    # what IT provisions: the deployment config and tuf-root.json beside it
    config, _ = load_deployment_config(data_dir / "deployment" / "custos-agent.toml")
    trusted_root = (data_dir / "updates" / "metadata" / "root.json").read_bytes()
    with running_server(data_dir, port, tmp_path / "server.log"):
        edge = RecordingEdge()
        win = UpdateChecker(
            config,
            trusted_root,
            tmp_path / "cache-win",
            edge,
            platform="windows",
            current_version="0.1.0",
            fetcher=HttpxFetcher.pinned(config.ca_certificate),
        )
        started = time.perf_counter()
        offer, outcome = win.check()
        elapsed = time.perf_counter() - started
        linux = UpdateChecker(
            config, trusted_root, tmp_path / "cache-linux", LinuxAptEdge(), platform="linux", current_version="0.1.0"
        )
        linux_offer, linux_outcome = linux.check()
        assert linux.check() is not None  # a second check with a warm cache verifies again
        win.close()
        linux.close()
    print(f"update check with a 2 MiB download over TLS: {elapsed * 1000:.0f} ms")
    assert (offer.version, outcome) == ("0.2.0", UpdateOutcome.INSTALL_ON_EXIT)
    assert hashlib.sha256(offer.installer.read_bytes()).hexdigest() == added["sha256"]
    assert edge.prepared == [offer]
    assert (linux_offer.version, linux_offer.installer, linux_outcome) == ("0.2.0", None, UpdateOutcome.IT_INSTALLS)
