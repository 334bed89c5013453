"""The real client refuses to start: under a real ptrace tracer, and in a frozen-simulated run with overrides."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

from agent_client.refusal import EXIT_REFUSED, refusal_text
from shared.integrity import IntegrityReason
from tests.support.xvfb import private_display

FROZEN = Path(__file__).with_name("frozen_client.py")
REPO = FROZEN.parents[2]


@pytest.fixture
def config(tmp_path, ca_pem):
    path = tmp_path / "deployment.toml"
    path.write_text(tomli_w.dumps({"server_url": "https://127.0.0.1:9", "organisation": "O", "ca_certificate": ca_pem}))
    return path


def _env(tmp_path, **extra: str) -> dict[str, str]:
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "conf")}
    return base | extra


def _run(argv, env, *, cwd=REPO):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=cwd, check=False)


def test_every_reason_has_a_sentence_in_english_and_polish(qapp):
    from agent_client.translations import install_translators

    english = {reason: refusal_text(reason) for reason in IntegrityReason}
    translators = install_translators(qapp, "pl")
    try:
        polish = {reason: refusal_text(reason) for reason in IntegrityReason}
    finally:
        for translator in translators:
            qapp.removeTranslator(translator)
    assert all(english.values()) and all(polish[r] != english[r] for r in IntegrityReason)


def test_under_a_real_tracer_the_client_refuses_with_one_line_and_exit_3(tmp_path, config):
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (scripts/system-deps.sh)")
    argv = [strace, "-f", "-o", os.devnull, sys.executable, "-m", "agent_client", "--config", str(config)]
    done = _run([*argv, "--ephemeral-keyring", "--lang", "pl"], _env(tmp_path, QT_QPA_PLATFORM="offscreen"))
    assert done.returncode == EXIT_REFUSED
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("[debugger_attached]"), done.stderr[-2000:]
    assert "debuger" in lines[0] and "Traceback" not in done.stderr  # the Polish sentence


def test_without_a_tracer_the_same_start_is_not_refused(tmp_path, config):
    argv = [sys.executable, "-m", "bench.client_start", "--child", "client", "--config", str(config)]
    done = _run(argv, _env(tmp_path, QT_QPA_PLATFORM="offscreen"))
    assert done.returncode == 0 and "CUSTOS-BENCH-SHOWN" in done.stdout, done.stderr[-2000:]


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"QT_PLUGIN_PATH": "/srv/foreign/plugins"}, "qt_plugin_override"),
        ({"QT_QPA_PLATFORM": "offscreen"}, "non_default_platform"),
        ({"LD_PRELOAD": "libm.so.6"}, "preload_library"),
        ({"PYTHONINSPECT": "1"}, "python_env_override"),
    ],
)
def test_a_frozen_build_refuses_overrides_in_the_environment(tmp_path, config, extra, reason):
    env = _env(tmp_path, QT_QPA_PLATFORM="xcb", DISPLAY=":99") | extra
    done = _run([sys.executable, str(FROZEN), "--config", str(config), "--ephemeral-keyring", "--lang", "en"], env)
    assert done.returncode == EXIT_REFUSED, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("custos-agent: Custos will not start")
        and lines[0].endswith(f"[{reason}]")
    )


@pytest.mark.gui
def test_a_frozen_build_starts_normally_on_a_desktop_display_under_the_audit_hook(tmp_path, config):
    with private_display() as display:
        env = _env(tmp_path, QT_QPA_PLATFORM="xcb", DISPLAY=display)
        argv = [sys.executable, str(FROZEN), "--quit-when-shown", "--config", str(config), "--ephemeral-keyring"]
        done = _run(argv, env)
    assert done.returncode == 0 and "CUSTOS-BENCH-SHOWN" in done.stdout, done.stderr[-3000:]
