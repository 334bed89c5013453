"""Run by test_audit_hook.py as its own process: install the real audit hook, then do one thing.

    python tests/agent_client/audit_hook_probe.py ACTION [PATH]

The bundle is this repository plus the interpreter's prefixes (as in a
frozen-simulated run). A violation prints ``VIOLATION <reason> <event>`` and
exits 3, as the client does; otherwise the probe prints ``OK``.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import sys
from pathlib import Path

from agent_client.audit_hook import SYSTEM_LIBRARY_DIRS, BundleGuard

REPO = Path(__file__).resolve().parents[2]


def stop(reason, event):
    print(f"VIOLATION {reason.value} {event}", flush=True)
    os._exit(3)


def main() -> None:
    action, path = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
    roots = [str(REPO), sys.prefix, sys.base_prefix, os.path.dirname(sys.executable)]
    sys.addaudithook(BundleGuard(roots, stop, library_dirs=SYSTEM_LIBRARY_DIRS["linux"]))
    if action == "normal":  # what the client does all day: imports, dataclasses, Qt, ctypes by name
        import dataclasses
        import json
        from collections import namedtuple

        from PySide6.QtWidgets import QApplication, QLabel

        import agent_client.main  # noqa: F401 - the client's imports up to its first window
        import agent_client.outbox  # noqa: F401 - and those after it (the connection)
        import agent_client.service  # noqa: F401
        import agent_client.views.record_window  # noqa: F401

        dataclasses.make_dataclass("Point", ["x", "y"])
        namedtuple("Pair", "a b")
        json.loads("{}")
        ctypes.CDLL("libm.so.6")
        app = QApplication([sys.argv[0]])
        QLabel("hello").show()
        app.processEvents()
    elif action == "dlopen":
        ctypes.CDLL(path)
    elif action == "run-file":
        runpy.run_path(path)
    elif action == "import-from":
        sys.path.append(path)
        __import__("foreign_module")
    elif action == "exec-string":
        exec("x = 1")  # noqa: S102 - the caller is this file, inside the bundle
    print("OK", flush=True)


if __name__ == "__main__":
    main()
