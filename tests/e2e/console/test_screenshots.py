"""``scripts/console_screenshots.py`` against a real console: one PNG per page and language."""

from __future__ import annotations

import subprocess
import sys

import pytest

from owner_server.console.nav import NAV
from tests.e2e.conftest import REPO
from tests.support.browser import VIEWPORT, png_size

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SCRIPT = REPO / "scripts" / "console_screenshots.py"


def test_screenshots_of_every_menu_page_in_both_languages(console_server, tmp_path):
    out = tmp_path / "shots"
    args = ["--url", console_server.origin, "--data-dir", str(console_server.data_dir), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--path", "/no/such/page"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    names = {
        f"{lang}-{'home' if item.path == '/' else item.path.strip('/')}.png" for item in NAV for lang in ("en", "pl")
    }
    names |= {"en-no-such-page.png", "pl-no-such-page.png"}
    assert {p.name for p in out.iterdir()} == names
    for shot in out.iterdir():
        width, height = png_size(shot)
        assert width == VIEWPORT["width"] and height >= VIEWPORT["height"], (shot.name, width, height)
    assert "pl /no/such/page: 404 pl-no-such-page.png" in done.stdout


def test_screenshots_refuse_a_plain_http_url(console_server, tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--url", "http://127.0.0.1:1", "--data-dir", str(console_server.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "https://" in done.stderr
    assert not (tmp_path / "console-shots").exists()
