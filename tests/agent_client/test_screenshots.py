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
    assert len(shots) == 11 and shots[0] == "pl-01-waiting.png"
    image = QImage(str(tmp_path / "pl-07-connected-after-answer-field.png"))
    assert image.width() >= 700 and image.height() >= 600
