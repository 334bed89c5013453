"""Start-up checks with made-up inputs: /proc status text, environments, a fake kernel32, trace hooks."""

from __future__ import annotations

import ctypes
import os

import pytest

from agent_client import integrity
from agent_client.integrity import Finding, Probe
from shared.integrity import IntegrityReason

STATUS = "Name:\tpython\nState:\tR (running)\nTracerPid:\t{pid}\nUid:\t0\t0\t0\t0\n"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (STATUS.format(pid=0), False),
        (STATUS.format(pid=4242), True),
        ("Name:\tpython\n", False),  # no such line (a kernel without it)
        (None, False),  # no /proc
    ],
)
def test_tracer_pid_of_proc_status(text, found):
    expected = [Finding(IntegrityReason.DEBUGGER_ATTACHED, "TracerPid")] if found else []
    assert integrity.check_tracer_pid(text) == expected


class FakeKernel32:
    """Stands in for ``ctypes.WinDLL("kernel32")``, which cannot load here: the same three calls.

    ``CheckRemoteDebuggerPresent`` writes through the ``ctypes.byref`` BOOL it is given, as the real one does.
    """

    def __init__(self, *, local: bool = False, remote: bool = False, fails: bool = False) -> None:
        self.local, self.remote, self.fails = local, remote, fails
        self.handles: list[object] = []

    def IsDebuggerPresent(self) -> int:  # noqa: N802 - the Win32 name
        return int(self.local)

    def CheckRemoteDebuggerPresent(self, process: object, present: object) -> int:  # noqa: N802 - the Win32 name
        self.handles.append(process)
        if self.fails:
            return 0
        present._obj.value = int(self.remote)  # type: ignore[attr-defined] - a ctypes byref()
        return 1

    def GetCurrentProcess(self) -> object:  # noqa: N802 - the Win32 name
        return ctypes.c_void_p(-1)


@pytest.mark.parametrize(
    ("api", "detail"),
    [
        (FakeKernel32(), None),
        (FakeKernel32(local=True), "IsDebuggerPresent"),
        (FakeKernel32(remote=True), "CheckRemoteDebuggerPresent"),
        (FakeKernel32(remote=True, fails=True), None),
        (None, None),
    ],
)
def test_windows_debug_api(api, detail):
    expected = [Finding(IntegrityReason.DEBUGGER_ATTACHED, detail)] if detail else []
    assert integrity.check_debug_api(api) == expected


def test_the_remote_check_asks_about_this_process():
    api = FakeKernel32()
    integrity.check_debug_api(api)
    [handle] = api.handles
    assert isinstance(handle, ctypes.c_void_p) and handle.value == ctypes.c_void_p(-1).value


def test_no_debug_api_off_windows():
    assert integrity.load_debug_api("linux") is None


def test_python_trace_and_profile_hooks():
    assert integrity.check_python_tracer(None, None) == []
    found = integrity.check_python_tracer(print, print)
    assert [f.detail for f in found] == ["settrace", "setprofile"]
    assert {f.reason for f in found} == {IntegrityReason.PYTHON_TRACER}


@pytest.mark.parametrize(
    ("env", "details"),
    [
        ({}, []),
        ({"QT_PLUGIN_PATH": "/srv/foreign/p"}, ["QT_PLUGIN_PATH"]),
        (
            {"QT_QPA_PLATFORM_PLUGIN_PATH": "/x", "QML2_IMPORT_PATH": "/y"},
            ["QT_QPA_PLATFORM_PLUGIN_PATH", "QML2_IMPORT_PATH"],
        ),
        ({"QT_PLUGIN_PATH": ""}, []),  # set but empty: Qt ignores it
        ({"QT_QPA_PLATFORMTHEME": "gtk3", "QT_STYLE_OVERRIDE": "fusion"}, []),  # pick among bundled plugins
    ],
)
def test_qt_overrides(env, details):
    assert [f.detail for f in integrity.check_qt_overrides(env)] == details


@pytest.mark.parametrize(
    ("platform", "value", "refused"),
    [
        ("linux", "", False),
        ("linux", "xcb", False),
        ("linux", "wayland;xcb", False),
        ("linux", "offscreen", True),
        ("linux", "minimal", True),
        ("linux", "vnc:size=800x600", True),
        ("linux", "xcb;vnc", True),
        ("win32", "windows:darkmode=2", False),
        ("win32", "xcb", True),
        ("darwin", "cocoa", False),
    ],
)
def test_platform_plugin(platform, value, refused):
    found = integrity.check_platform({"QT_QPA_PLATFORM": value} if value else {}, platform)
    assert found == ([Finding(IntegrityReason.NON_DEFAULT_PLATFORM, "QT_QPA_PLATFORM")] if refused else [])


@pytest.mark.parametrize("name", ["LD_PRELOAD", "LD_AUDIT", "DYLD_INSERT_LIBRARIES"])
def test_preloaded_libraries(name):
    assert integrity.check_preload({name: "/srv/foreign/hook.so"}) == [Finding(IntegrityReason.PRELOAD_LIBRARY, name)]
    assert integrity.check_preload({"LD_LIBRARY_PATH": "/opt/lib"}) == []


@pytest.mark.parametrize("name", ["PYTHONPATH", "PYTHONINSPECT", "PYTHONSTARTUP", "PYTHONHOME"])
def test_python_environment(name):
    assert integrity.check_python_env({name: "1"}) == [Finding(IntegrityReason.PYTHON_ENV_OVERRIDE, name)]
    assert integrity.check_python_env({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}) == []


SUITE_ENV = {"QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": "/src"}


def test_a_frozen_build_refuses_every_finding():
    probe = Probe(env=SUITE_ENV, frozen=True, platform="linux", trace=print)
    found = integrity.assess(probe)
    assert {f.reason for f in found} == {
        IntegrityReason.NON_DEFAULT_PLATFORM,
        IntegrityReason.PYTHON_ENV_OVERRIDE,
        IntegrityReason.PYTHON_TRACER,
    }
    assert all(f.enforced for f in found)


def test_a_development_run_only_logs_the_test_suites_platform_and_python_tools(caplog):
    caplog.set_level("INFO", logger="agent_client.integrity")
    probe = Probe(env=SUITE_ENV, frozen=False, platform="linux", trace=print)
    found = integrity.assess(probe)
    assert found and not any(f.enforced for f in found)
    assert "non_default_platform (QT_QPA_PLATFORM) allowed in a development run" in caplog.text


@pytest.mark.parametrize(
    "probe",
    [
        Probe(env={}, frozen=False, platform="linux", proc_status=STATUS.format(pid=7)),
        Probe(env={}, frozen=False, platform="win32", debug_api=FakeKernel32(local=True)),
        Probe(env={"QT_PLUGIN_PATH": "/srv/foreign/p"}, frozen=False, platform="linux"),
        Probe(env={"LD_PRELOAD": "/srv/foreign/x.so"}, frozen=False, platform="linux"),
    ],
)
def test_a_development_run_still_refuses_a_debugger_a_plugin_path_and_a_preload(probe):
    assert [f.enforced for f in integrity.assess(probe)] == [True]


def test_this_test_process_is_clean_where_it_matters():
    probe = Probe.current()
    assert probe.frozen is False
    assert not [f for f in integrity.assess(probe) if f.enforced]


def test_the_frozen_builds_own_qt_paths_are_not_an_override(tmp_path):
    """PyInstaller's PySide6 runtime hook sets QT_PLUGIN_PATH/QML2_IMPORT_PATH inside the bundle itself."""
    bundle = tmp_path / "_internal"
    own = {"QT_PLUGIN_PATH": str(bundle / "PySide6" / "Qt" / "plugins"), "QML2_IMPORT_PATH": str(bundle / "qml")}
    assert integrity.check_qt_overrides(own, str(bundle)) == []
    foreign = {"QT_PLUGIN_PATH": f"{bundle / 'plugins'}{os.pathsep}{tmp_path / 'evil'}"}
    assert [f.detail for f in integrity.check_qt_overrides(foreign, str(bundle))] == ["QT_PLUGIN_PATH"]
    escape = {"QT_PLUGIN_PATH": str(bundle / ".." / "evil")}
    assert [f.detail for f in integrity.check_qt_overrides(escape, str(bundle))] == ["QT_PLUGIN_PATH"]
    assert [f.detail for f in integrity.check_qt_overrides(own)] == ["QT_PLUGIN_PATH", "QML2_IMPORT_PATH"]


def test_a_frozen_builds_library_path_may_point_only_at_the_bundle_and_system_folders(tmp_path):
    """Red team: LD_LIBRARY_PATH could make the loader take libGL or libxcb from a folder the agent controls."""
    bundle = str(tmp_path / "_internal")
    own = {"LD_LIBRARY_PATH": f"{bundle}{os.pathsep}/usr/lib/x86_64-linux-gnu"}
    assert integrity.check_library_path(own, bundle) == []
    evil = {"LD_LIBRARY_PATH": f"{bundle}{os.pathsep}{tmp_path / 'evil'}"}
    assert [f.detail for f in integrity.check_library_path(evil, bundle)] == ["LD_LIBRARY_PATH"]
    assert integrity.check_library_path(evil, None) == []  # run from source: not checked
    assert [f.detail for f in integrity.check_library_path({"LD_LIBRARY_PATH": "/usr/lib/../../tmp"}, bundle)] == [
        "LD_LIBRARY_PATH"
    ]
