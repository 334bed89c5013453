"""Runs :mod:`tests.e2e.call_flow_inner` (the agent's whole loop with the real client) under a private Xvfb."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.xvfb import private_display

pytestmark = [pytest.mark.e2e, pytest.mark.gui]
REPO = Path(__file__).resolve().parents[2]


def test_the_agent_loop_on_a_real_x11_display(tmp_path):
    with private_display() as display:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/e2e/call_flow_inner.py"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
