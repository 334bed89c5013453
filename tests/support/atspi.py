"""A private accessibility bus (session D-Bus + at-spi-bus-launcher) and a reader of its tree, for tests.

The reader talks AT-SPI 2 over D-Bus with jeepney (pure Python), as a screen
reader or a scraping tool would: it asks the session bus for the a11y bus
(``org.a11y.Bus.GetAddress``), starts at the registry's desktop
(``/org/a11y/atspi/accessible/root``) and reads every node's name,
description, and, where it offers them, the Text and Value interfaces.
Source: the AT-SPI 2 D-Bus interfaces (at-spi2-core ``xml/Accessible.xml``,
``Text.xml``, ``Value.xml``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jeepney import DBusAddress, Properties, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from tests.support.xvfb import in_ci

LAUNCHER = Path("/usr/libexec/at-spi-bus-launcher")
ACCESSIBLE = "org.a11y.atspi.Accessible"
ROOT = "/org/a11y/atspi/accessible/root"
REGISTRY = "org.a11y.atspi.Registry"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def accessibility_bus(display: str, runtime_dir: Path) -> Iterator[dict[str, str]]:
    """A private session bus with the AT-SPI bus launcher on it; yields the environment for its clients.

    ``runtime_dir`` (``XDG_RUNTIME_DIR``) holds the a11y bus socket, private to the test.

    Skips without dbus-daemon or at-spi2-core, except in CI (scripts/system-deps.sh installs them).
    """
    daemon = shutil.which("dbus-daemon")
    if daemon is None or not LAUNCHER.exists():
        reason = "dbus-daemon or at-spi2-core missing (install them with scripts/system-deps.sh)"
        if in_ci():
            pytest.fail(f"{reason}; CI must run the AT-SPI test")
        pytest.skip(reason)
    bus = subprocess.Popen(
        [daemon, "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    launcher: subprocess.Popen[bytes] | None = None
    try:
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        if not address:
            pytest.fail("dbus-daemon printed no address")
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XAUTHORITY", "AT_SPI_BUS_ADDRESS")}
        env.update(DBUS_SESSION_BUS_ADDRESS=address, DISPLAY=display, XDG_RUNTIME_DIR=str(runtime_dir))
        launcher = subprocess.Popen(
            [str(LAUNCHER), "--launch-immediately"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        yield env
    finally:
        if launcher is not None:
            _stop(launcher)
        _stop(bus)
        if bus.stdout is not None:
            bus.stdout.close()


def _call(conn: DBusConnection, msg: object) -> tuple[object, ...]:
    reply = conn.send_and_get_reply(msg, timeout=10)
    if reply.header.message_type.name == "error":
        raise RuntimeError(f"D-Bus error: {reply.body}")
    return tuple(reply.body)


def a11y_address(session_address: str, *, wait_s: float = 20) -> str:
    """The a11y bus address the launcher hands out (it may still be starting)."""
    conn = open_dbus_connection(bus=session_address)
    try:
        bus = DBusAddress("/org/a11y/bus", bus_name="org.a11y.Bus", interface="org.a11y.Bus")
        deadline = time.monotonic() + wait_s
        while True:
            try:
                return str(_call(conn, new_method_call(bus, "GetAddress"))[0])
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        conn.close()


class TreeReader:
    """Reads an AT-SPI tree over the a11y bus.

    Args:
        address: The a11y bus address.
    """

    def __init__(self, address: str) -> None:
        self._conn = open_dbus_connection(bus=address)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def applications(self) -> list[tuple[str, str]]:
        """The (bus name, path) of each application registered on the desktop."""
        root = DBusAddress(ROOT, bus_name=REGISTRY, interface=ACCESSIBLE)
        return [tuple(child) for child in _call(self._conn, new_method_call(root, "GetChildren"))[0]]  # type: ignore[misc]

    def _prop(self, node: DBusAddress, interface: str, name: str) -> object:
        value = _call(self._conn, Properties(DBusAddress(node.object_path, node.bus_name, interface)).get(name))[0]
        return value[1] if isinstance(value, tuple) else value

    def read(self, bus_name: str, path: str, *, limit: int = 2000) -> list[dict[str, object]]:
        """Every node under ``(bus_name, path)``: role, name, description, text and value where offered."""
        out: list[dict[str, object]] = []
        stack = [(bus_name, path)]
        seen: set[tuple[str, str]] = set()
        while stack and len(out) < limit:
            name, node_path = stack.pop()
            if (name, node_path) in seen or node_path == "/org/a11y/atspi/null":
                continue
            seen.add((name, node_path))
            node = DBusAddress(node_path, bus_name=name, interface=ACCESSIBLE)
            interfaces = list(_call(self._conn, new_method_call(node, "GetInterfaces"))[0])  # type: ignore[call-overload]
            entry: dict[str, object] = {
                "role": _call(self._conn, new_method_call(node, "GetRoleName"))[0],
                "name": self._prop(node, ACCESSIBLE, "Name"),
                "description": self._prop(node, ACCESSIBLE, "Description"),
                "interfaces": interfaces,
            }
            if "org.a11y.atspi.Text" in interfaces:
                text = DBusAddress(node_path, bus_name=name, interface="org.a11y.atspi.Text")
                entry["text"] = _call(self._conn, new_method_call(text, "GetText", "ii", (0, -1)))[0]
            if "org.a11y.atspi.Value" in interfaces:
                entry["value"] = self._prop(node, "org.a11y.atspi.Value", "CurrentValue")
            out.append(entry)
            children = _call(self._conn, new_method_call(node, "GetChildren"))[0]
            stack.extend((str(c[0]), str(c[1])) for c in children)  # type: ignore[index,union-attr]
        return out
