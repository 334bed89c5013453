"""``custos-agent`` as a frozen build would run it: ``sys.frozen`` set, the bundle = this repository.

    python tests/agent_client/frozen_client.py [--quit-when-shown] CLIENT-ARGS...

Sets what PyInstaller's bootloader sets (``sys.frozen``, ``sys._MEIPASS``),
leaves ``sys.path`` with directories only (no current directory, no
editable-install hook entry, as in a bundle), then runs the client's own
``main``, which installs the audit hook and refuses what a frozen build
refuses. ``--quit-when-shown`` prints a marker and quits once the first
window is exposed (bench/client_start.py's hook).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

sys.frozen = True  # type: ignore[attr-defined]
sys._MEIPASS = str(REPO)  # type: ignore[attr-defined]
sys.path[:] = [str(REPO), *(p for p in sys.path if p and Path(p).is_absolute() and p != str(Path(__file__).parent))]

from agent_client import main as client  # noqa: E402

argv = sys.argv[1:]
if argv[:1] == ["--quit-when-shown"]:
    from bench.client_start import quit_on_first_window

    client.QApplication = quit_on_first_window(client.QApplication)  # type: ignore[misc]
    argv = argv[1:]
sys.exit(client.main(argv))
