"""The record window on a real X server: the X11 clipboard and primary selection.

The rest of the suite runs Qt offscreen, whose clipboard lives inside the
process. Here a private Xvfb runs the real RecordWindow in a child process
(x11_clipboard_probe.py), and a second X client reads what the X server hands
out. Skipped when Xvfb is missing, except in CI (CI=true), where
scripts/system-deps.sh installs it and a skip would hide a regression.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.xvfb import private_display

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]
PLANTED = {"clipboard": "planted-clipboard", "selection": "planted-selection"}
EMPTY = {"clipboard": "", "selection": ""}


@pytest.fixture(scope="module")
def xvfb_display():
    with private_display() as display:
        yield display


@pytest.fixture(scope="module")
def probe(xvfb_display, tmp_path_factory):
    png = tmp_path_factory.mktemp("x11") / "record-window.png"
    env = {key: value for key, value in os.environ.items() if key not in ("WAYLAND_DISPLAY", "XAUTHORITY")}
    env.update(QT_QPA_PLATFORM="xcb", DISPLAY=xvfb_display)
    result = subprocess.run(
        [sys.executable, "-m", "tests.agent_client.x11_clipboard_probe", "probe", str(png)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["png"] = png
    return report


def test_runs_on_the_x11_platform_with_a_primary_selection(probe):
    assert probe["platform"] == "xcb"
    assert probe["supports_selection"]
    assert probe["exposed"]
    assert probe["active"]


def test_another_x_client_sees_what_was_planted(probe):
    # Proves the reader really goes through the X server, so the checks below mean something.
    assert probe["planted_seen_outside"] == PLANTED


@pytest.mark.parametrize("keys", ["ctrl+c", "ctrl+a", "ctrl+p"])
def test_copy_select_all_and_print_clear_clipboard_and_selection(probe, keys):
    step = probe["steps"][keys]
    assert step["own"] == EMPTY
    assert step["outside"] == EMPTY


def test_every_blocked_key_is_reported(probe):
    assert probe["blocked"] == ["copy", "select_all", "print"]


def test_dragging_over_a_value_selects_nothing(probe):
    assert probe["value_labels"], "the probe found no value labels to drag over"
    # The same drag selects text of an ordinary label, and the X server publishes it.
    assert probe["control"]["selected"]
    assert probe["control"]["outside"]["selection"] == probe["control"]["selected"]
    assert probe["label_selected"] == []
    assert probe["after_drag"]["own"] == PLANTED
    assert probe["after_drag"]["outside"] == PLANTED


def test_record_values_never_reach_clipboard_or_selection(probe):
    values = [value for value in probe["record_values"] if value]
    seen = [probe["planted_seen_outside"], probe["after_drag"]["own"], probe["after_drag"]["outside"]]
    seen += [step[side] for step in probe["steps"].values() for side in ("own", "outside")]
    for texts in seen:
        for text in texts.values():
            assert not any(value in text for value in values), text


def test_screenshot_of_the_window_is_not_empty(probe):
    shot = probe["screenshot"]
    assert shot["saved"]
    assert shot["width"] > 0
    assert shot["height"] > 0
    assert shot["colours"] > 1
    assert probe["png"].stat().st_size > 0
