"""The record window through AT-SPI, as a screen reader or a scraper on the Linux desktop reads it.

A private Xvfb, session D-Bus and AT-SPI bus (at-spi2-core) run the real
RecordWindow in a child process (atspi_probe.py) with Qt's AT-SPI bridge on;
this process walks the tree over D-Bus (tests/support/atspi.py) and reads
every name, description, text and value. By default no record value is
there; in screen-reader mode the visible ones are (which proves the walk
reaches them). Skipped without Xvfb/at-spi2-core, except in CI.
"""

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.agent_client.atspi_probe import AFTER_ANSWER, TYPED_NOTE, TYPED_VERIFY
from tests.support.atspi import TreeReader, a11y_address, accessibility_bus
from tests.support.xvfb import private_display

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]
VALUES = ("Zofia", "Gdańsk", "•••••••4821", "Hello, I am calling about your contract.", AFTER_ANSWER.value)
TYPED = (TYPED_NOTE, TYPED_VERIFY)


@pytest.fixture(scope="module")
def bus(tmp_path_factory):
    with contextlib.ExitStack() as stack:
        display = stack.enter_context(private_display())
        env = stack.enter_context(accessibility_bus(display, tmp_path_factory.mktemp("xdg-runtime")))
        env.update(QT_QPA_PLATFORM="xcb", QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1")
        yield env, a11y_address(env["DBUS_SESSION_BUS_ADDRESS"])


def read_window(bus, *args):
    """Run the probe, read its whole AT-SPI tree, stop it; returns one text of every readable string, and the nodes."""
    env, address = bus
    probe = subprocess.Popen(
        [sys.executable, "-m", "tests.agent_client.atspi_probe", *args],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reader = TreeReader(address)
    try:
        assert probe.stdout is not None and probe.stdout.readline().strip() == "ready", probe.stderr.read()
        apps = []
        for _ in range(100):  # the bridge registers with the registry on its own schedule
            apps = [app for app in reader.applications() if app[0]]
            if apps:
                break
            time.sleep(0.1)
        assert len(apps) == 1, apps
        nodes = reader.read(*apps[0])
    finally:
        reader.close()
        assert probe.stdin is not None
        probe.stdin.close()
        probe.wait(timeout=30)
        probe.stdout.close()
        probe.stderr.close()
    assert any(node["role"] == "label" for node in nodes)  # the window's labels were reached
    text = " | ".join(str(node.get(key, "")) for node in nodes for key in ("name", "description", "text", "value"))
    return text, nodes


def test_no_record_value_is_readable_through_atspi(bus):
    text, nodes = read_window(bus)
    for value in (*VALUES, *TYPED, "4821"):
        assert value not in text
    for neutral in ("First name", "City", "Customer id", "PESEL", "Script", "Notes", "Value to verify"):
        assert neutral in text
    # Not even an empty Text interface on the labels and edits that hold record text or typed values.
    assert not [n for n in nodes if n["role"] in ("label", "text") and "org.a11y.atspi.Text" in n["interfaces"]]


def test_screen_reader_mode_reads_the_visible_values(bus):
    text, nodes = read_window(bus, "--screen-reader")
    for value in (*VALUES, *TYPED):
        assert value in text
    assert [n for n in nodes if n["role"] == "text" and "org.a11y.atspi.Text" in n["interfaces"]]  # Qt's own edits
