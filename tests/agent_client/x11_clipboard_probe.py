"""Child process of test_x11_clipboard.py; runs on a real X server (QT_QPA_PLATFORM=xcb).

``probe OUT.png``: show the real RecordWindow with a record, try to get its
values out through the X11 clipboard and primary selection, screenshot it, and
print one JSON line of findings.

``read``: a separate X client that prints what the X server hands out as the
clipboard and the primary selection (so the probe's own cache is not trusted).
"""

import json
import sys
from datetime import datetime

from PySide6.QtCore import QPoint, QProcess, Qt
from PySide6.QtGui import QClipboard
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel

from agent_client.views.record_window import RecordWindow
from tests.agent_client.agent_fakes import make_record

PLANTED_CLIPBOARD = "planted-clipboard"
PLANTED_SELECTION = "planted-selection"
CONTROL_TEXT = "control text"
KEYS = (("ctrl+c", Qt.Key.Key_C), ("ctrl+a", Qt.Key.Key_A), ("ctrl+p", Qt.Key.Key_P))


def read_own(clipboard):
    return {
        "clipboard": clipboard.text(QClipboard.Mode.Clipboard),
        "selection": clipboard.text(QClipboard.Mode.Selection),
    }


def read_from_outside():
    """What another X client sees; the probe keeps serving X events meanwhile."""
    process = QProcess()
    process.setProgram(sys.executable)
    process.setArguments(["-m", "tests.agent_client.x11_clipboard_probe", "read"])
    process.start()
    if not process.waitForStarted(10_000):
        raise RuntimeError("cannot start the reader")
    for _ in range(1500):
        if process.state() == QProcess.ProcessState.NotRunning:
            break
        QTest.qWait(20)
    else:
        process.kill()
        raise RuntimeError("the reader hung")
    out = bytes(process.readAllStandardOutput().data()).decode()
    if process.exitCode() != 0:
        err = bytes(process.readAllStandardError().data()).decode()
        raise RuntimeError(f"the reader failed: {err}")
    return json.loads(out.strip().splitlines()[-1])


def plant(clipboard):
    clipboard.setText(PLANTED_CLIPBOARD, QClipboard.Mode.Clipboard)
    clipboard.setText(PLANTED_SELECTION, QClipboard.Mode.Selection)
    QTest.qWait(50)


def drag_over(label):
    """Press, move across and release the left button over ``label``, then double-click it."""
    y = label.height() // 2
    start, end = QPoint(1, y), QPoint(max(label.width() - 1, 2), y)
    QTest.mousePress(label, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, 11):
        QTest.mouseMove(label, start + (end - start) * (step / 10))
    QTest.mouseRelease(label, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    QTest.mouseDClick(label, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.qWait(50)


def probe(png_path):
    app = QApplication([sys.argv[0]])
    clipboard = app.clipboard()
    window = RecordWindow("agent.one", "Demo Telecom", clipboard, clock=lambda: datetime(2024, 5, 1, 9, 30))
    blocked = []
    window.attempt_blocked.connect(blocked.append)
    window.show()
    exposed = QTest.qWaitForWindowExposed(window, 10_000)
    window.activateWindow()
    active = QTest.qWaitForWindowActive(window, 5_000)
    record = make_record()
    window.show_record(record)
    QTest.qWait(200)
    value_labels = [label for label in window.findChildren(QLabel) if label.text() in {f.value for f in record.fields}]

    plant(clipboard)
    planted_seen_outside = read_from_outside()
    steps = {}
    for name, key in KEYS:
        plant(clipboard)
        QTest.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)
        QTest.qWait(50)
        steps[name] = {"own": read_own(clipboard), "outside": read_from_outside()}

    # Control: the same drag does select an ordinary selectable label here.
    control = QLabel(CONTROL_TEXT)
    control.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    control.resize(300, 40)
    control.show()
    QTest.qWaitForWindowExposed(control, 10_000)
    drag_over(control)
    control_result = {"selected": control.selectedText(), "outside": read_from_outside()}
    control.close()

    plant(clipboard)
    for label in value_labels:
        drag_over(label)
    label_selected = [label.text() for label in window.findChildren(QLabel) if label.hasSelectedText()]
    after_drag = {"own": read_own(clipboard), "outside": read_from_outside()}

    screen = window.screen()
    pixmap = screen.grabWindow(window.winId())
    image = pixmap.toImage()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    saved = pixmap.save(png_path, "PNG")
    result = {
        "platform": app.platformName(),
        "supports_selection": clipboard.supportsSelection(),
        "exposed": exposed,
        "active": active,
        "record_values": [f.value for f in record.fields] + [record.script, record.phone_mask],
        "value_labels": [label.text() for label in value_labels],
        "planted_seen_outside": planted_seen_outside,
        "steps": steps,
        "blocked": blocked,
        "control": control_result,
        "label_selected": label_selected,
        "after_drag": after_drag,
        "screenshot": {"saved": saved, "width": image.width(), "height": image.height(), "colours": len(colours)},
    }
    window.close()
    print(json.dumps(result))  # noqa: T201 - the parent reads it


def read():
    app = QApplication([sys.argv[0]])
    QTest.qWait(50)
    print(json.dumps(read_own(app.clipboard())))  # noqa: T201 - the prober reads it


if __name__ == "__main__":
    if sys.argv[1] == "read":
        read()
    else:
        probe(sys.argv[2])
