"""The screenshot script renders every record-window state (it is how the states are checked by eye)."""

import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

REPO = Path(__file__).resolve().parents[2]


def test_every_state_renders(tmp_path):
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "screenshots.py"), str(tmp_path), "--lang", "pl"],
        check=True,
        capture_output=True,
        timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    shots = sorted(path.name for path in tmp_path.glob("*.png"))
    assert shots[0] == "pl-01-waiting.png"
    for state in (
        "02-outside-calling-hours",
        "02b-no-contacts",
        "02c-server-unreachable",
        "02d-suspended",
        "04-pending",
        "05b-refused-agent-phone",
        "06-agent-ringing",
        "07b-verify-no-match",
        "09b-no-call-reason",
        "10-callback-picker",
        "11-login-locked",
    ):
        assert f"pl-{state}.png" in shots
    image = QImage(str(tmp_path / "pl-07-connected-after-answer-field.png"))
    assert image.width() >= 700 and image.height() >= 600
