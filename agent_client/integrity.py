"""Start-up checks: is this process being debugged, traced or injected into?

Each check is a small pure function of what it looks at (an environment
mapping, the text of ``/proc/self/status``, the Windows debug API), so it is
tested with made-up inputs; :meth:`Probe.current` gathers the real ones.
:func:`assess` decides which findings stop the client:

* a frozen (installed, PyInstaller) build refuses on every finding;
* a development run (``python -m agent_client``) refuses only on a native
  debugger or tracer, a Qt plugin path override and a preloaded library, and
  only logs the rest: the test suite runs the client with
  ``QT_QPA_PLATFORM=offscreen``, developers set ``PYTHONPATH`` and run pdb,
  and whoever runs from source can edit the source anyway.

``QT_QPA_PLATFORMTHEME`` and ``QT_STYLE_OVERRIDE`` are allowed: they pick
among the plugins shipped in the bundle, and only a plugin path override
could bring in foreign ones. ``LD_LIBRARY_PATH`` is checked in a frozen build
only: every entry must lie in the bundle (PyInstaller's bootloader puts it
there) or a system library folder, else the dynamic loader could resolve one of
the system libraries the bundle leaves out (libGL, libxcb …) from a folder the
user controls; the audit hook (:mod:`agent_client.audit_hook`) refuses
libraries Python loads by path from outside the bundle.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from shared.integrity_reasons import IntegrityReason

__all__ = [
    "DebugApi",
    "Finding",
    "Probe",
    "assess",
    "check_debug_api",
    "check_platform",
    "check_preload",
    "check_python_env",
    "check_python_tracer",
    "check_qt_overrides",
    "check_tracer_pid",
    "find",
    "load_debug_api",
]

log = logging.getLogger(__name__)

#: Variables that make Qt load plugins or QML modules from another directory.
QT_OVERRIDES = (
    "QT_PLUGIN_PATH",
    "QT_QPA_PLATFORM_PLUGIN_PATH",
    "QT_QPA_GENERIC_PLUGINS",
    "QML2_IMPORT_PATH",
    "QML_IMPORT_PATH",
    "QT_QUICK_CONTROLS_STYLE_PATH",
)
#: Variables that make the dynamic loader inject a library into every process.
PRELOADS = ("LD_PRELOAD", "LD_AUDIT", "DYLD_INSERT_LIBRARIES")
#: Variables that make the interpreter run or import foreign Python code.
PYTHON_OVERRIDES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
    "PYTHONBREAKPOINT",
    "PYTHONUSERBASE",
    "PYTHONPLATLIBDIR",
)
#: The Qt platform plugins of an ordinary desktop session, by ``sys.platform``.
DEFAULT_PLATFORMS: Mapping[str, frozenset[str]] = {
    "linux": frozenset({"xcb", "wayland", "wayland-egl"}),
    "win32": frozenset({"windows"}),
    "darwin": frozenset({"cocoa"}),
}
#: What a development run refuses; everything else it only logs.
ENFORCED_IN_DEVELOPMENT = frozenset(
    {IntegrityReason.DEBUGGER_ATTACHED, IntegrityReason.QT_PLUGIN_OVERRIDE, IntegrityReason.PRELOAD_LIBRARY}
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check found.

    Attributes:
        reason: The reason code reported to the server.
        detail: What exactly (a variable name, ``TracerPid``); never a value or a path.
        enforced: Whether the client refuses to start because of it.
    """

    reason: IntegrityReason
    detail: str
    enforced: bool = True


def check_tracer_pid(status_text: str | None) -> list[Finding]:
    """A native tracer (gdb, strace, a memory scraper using ptrace) per Linux ``/proc/self/status``.

    Args:
        status_text: The file's text, or None where there is no such file.

    Returns:
        One ``debugger_attached`` finding when ``TracerPid`` is not 0 (proc(5)).
    """
    for line in (status_text or "").splitlines():
        key, _, value = line.partition(":")
        if key == "TracerPid":
            return [Finding(IntegrityReason.DEBUGGER_ATTACHED, "TracerPid")] if value.strip() not in ("", "0") else []
    return []


class DebugApi(Protocol):
    """The three kernel32 calls the Windows check makes, as ``ctypes.WinDLL("kernel32")`` offers them.

    Microsoft documents them under debugapi.h: ``IsDebuggerPresent()``,
    ``CheckRemoteDebuggerPresent(HANDLE, PBOOL)`` and ``GetCurrentProcess()``.
    """

    def IsDebuggerPresent(self) -> int:  # noqa: N802 - the Win32 name
        """Non-zero when a user-mode debugger debugs the calling process."""

    def CheckRemoteDebuggerPresent(self, process: object, present: object) -> int:  # noqa: N802 - the Win32 name
        """Store in ``*present`` (a BOOL by reference) whether a debugger debugs ``process``; non-zero on success."""

    def GetCurrentProcess(self) -> object:  # noqa: N802 - the Win32 name
        """The pseudo handle of the calling process."""


def check_debug_api(api: DebugApi | None) -> list[Finding]:
    """A debugger per the Windows debug API (local or remote, e.g. a debugger attached by PID).

    Args:
        api: kernel32 (:func:`load_debug_api`), a fake implementing the same calls, or None off Windows.
    """
    if api is None:
        return []
    if api.IsDebuggerPresent():
        return [Finding(IntegrityReason.DEBUGGER_ATTACHED, "IsDebuggerPresent")]
    present = ctypes.c_int(0)
    if api.CheckRemoteDebuggerPresent(api.GetCurrentProcess(), ctypes.byref(present)) and present.value:
        return [Finding(IntegrityReason.DEBUGGER_ATTACHED, "CheckRemoteDebuggerPresent")]
    return []


def load_debug_api(platform: str = sys.platform) -> DebugApi | None:
    """kernel32 through ctypes on Windows; None elsewhere (or when it cannot be loaded)."""
    if platform != "win32":
        return None
    try:
        api: DebugApi = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]
    except OSError:
        return None
    return api


def check_python_tracer(trace: object, profile: object) -> list[Finding]:
    """A Python-level debugger or profiler: whatever ``sys``/``threading`` ``gettrace``/``getprofile`` returned."""
    found = [name for name, hook in (("settrace", trace), ("setprofile", profile)) if hook is not None]
    return [Finding(IntegrityReason.PYTHON_TRACER, name) for name in found]


def check_qt_overrides(env: Mapping[str, str], bundle: str | None = None) -> list[Finding]:
    """Variables that make Qt load plugins or QML from outside the bundle (:data:`QT_OVERRIDES`).

    Args:
        env: The environment.
        bundle: The frozen build's own folder (``sys._MEIPASS``), or None. PyInstaller's
            PySide6 runtime hook itself sets ``QT_PLUGIN_PATH`` and ``QML2_IMPORT_PATH``
            to folders inside it (overwriting whatever was set before the start), so a
            value whose every entry lies inside the bundle is the build's own.
    """
    return [
        Finding(IntegrityReason.QT_PLUGIN_OVERRIDE, name)
        for name in QT_OVERRIDES
        if env.get(name) and not _inside(env[name], bundle)
    ]


def _inside(value: str, bundle: str | None) -> bool:
    if not bundle:
        return False
    root = os.path.realpath(bundle)
    entries = [entry for entry in value.split(os.pathsep) if entry]
    return bool(entries) and all(os.path.commonpath([root, os.path.realpath(entry)]) == root for entry in entries)


def check_platform(env: Mapping[str, str], platform: str = sys.platform) -> list[Finding]:
    """A Qt platform plugin other than the desktop's own (offscreen, minimal, vnc, eglfs, ...).

    ``QT_QPA_PLATFORM`` may list fallbacks separated by ``;`` and options after
    ``:`` (``windows:darkmode=2``); every name listed must be a default one.
    The client passes Qt no command-line arguments, so ``-platform`` cannot
    be given another way.
    """
    value = env.get("QT_QPA_PLATFORM", "")
    allowed = DEFAULT_PLATFORMS.get("linux" if platform.startswith("linux") else platform, frozenset())
    names = {part.split(":", 1)[0].strip() for part in value.split(";")} - {""}
    return [Finding(IntegrityReason.NON_DEFAULT_PLATFORM, "QT_QPA_PLATFORM")] if names - allowed else []


def check_preload(env: Mapping[str, str]) -> list[Finding]:
    """Libraries the dynamic loader injects (:data:`PRELOADS`)."""
    return [Finding(IntegrityReason.PRELOAD_LIBRARY, name) for name in PRELOADS if env.get(name)]


#: Where a frozen build's ``LD_LIBRARY_PATH`` may point besides the bundle (root-owned system folders).
SYSTEM_LIBRARY_DIRS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib")


def check_library_path(env: Mapping[str, str], bundle: str | None) -> list[Finding]:
    """A frozen build's ``LD_LIBRARY_PATH`` entries outside the bundle and the system library folders.

    Args:
        env: The environment.
        bundle: The frozen build's folder (``sys._MEIPASS``); None (not frozen): nothing is checked.
    """
    if not bundle or not env.get("LD_LIBRARY_PATH"):
        return []
    for entry in filter(None, env["LD_LIBRARY_PATH"].split(os.pathsep)):
        if not _inside(entry, bundle) and not any(_inside(entry, system) for system in SYSTEM_LIBRARY_DIRS):
            return [Finding(IntegrityReason.PRELOAD_LIBRARY, "LD_LIBRARY_PATH")]
    return []


def check_python_env(env: Mapping[str, str]) -> list[Finding]:
    """Variables that run or import foreign Python code (:data:`PYTHON_OVERRIDES`)."""
    return [Finding(IntegrityReason.PYTHON_ENV_OVERRIDE, name) for name in PYTHON_OVERRIDES if env.get(name)]


def _read_proc_status() -> str | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as handle:
            return handle.read(64 * 1024)
    except OSError:
        return None


@dataclass(frozen=True)
class Probe:
    """What the checks look at; :meth:`current` for this process, made up in tests.

    Attributes:
        env: The environment variables.
        frozen: Whether this is a frozen (installed) build.
        platform: ``sys.platform``.
        proc_status: Text of ``/proc/self/status`` (None off Linux).
        debug_api: kernel32 on Windows (None elsewhere).
        trace: The Python trace function in force (this thread's or the threads' default).
        profile: The Python profile function in force.
        bundle: The frozen build's folder (``sys._MEIPASS``); None when not frozen.
    """

    env: Mapping[str, str]
    frozen: bool
    platform: str
    proc_status: str | None = None
    debug_api: DebugApi | None = None
    trace: object = None
    profile: object = None
    bundle: str | None = None

    @classmethod
    def current(cls, read_status: Callable[[], str | None] = _read_proc_status) -> Probe:
        """Gather the real inputs of this process."""
        return cls(
            env=dict(os.environ),
            frozen=bool(getattr(sys, "frozen", False)),
            platform=sys.platform,
            proc_status=read_status() if sys.platform.startswith("linux") else None,
            debug_api=load_debug_api(),
            trace=sys.gettrace() or threading.gettrace(),
            profile=sys.getprofile() or threading.getprofile(),
            bundle=getattr(sys, "_MEIPASS", None) if getattr(sys, "frozen", False) else None,
        )


def find(probe: Probe) -> list[Finding]:
    """Run every check on ``probe`` (nothing decided yet: every finding marked enforced)."""
    return [
        *check_tracer_pid(probe.proc_status),
        *check_debug_api(probe.debug_api),
        *check_python_tracer(probe.trace, probe.profile),
        *check_qt_overrides(probe.env, probe.bundle),
        *check_platform(probe.env, probe.platform),
        *check_preload(probe.env),
        *check_library_path(probe.env, probe.bundle),
        *check_python_env(probe.env),
    ]


def assess(probe: Probe) -> list[Finding]:
    """Every finding, each marked enforced or only logged (see the module docstring), logged at INFO.

    Returns:
        The findings; the client refuses to start if any is enforced.
    """
    findings = [Finding(f.reason, f.detail, probe.frozen or f.reason in ENFORCED_IN_DEVELOPMENT) for f in find(probe)]
    for finding in findings:
        if not finding.enforced:
            log.info("integrity: %s (%s) allowed in a development run", finding.reason.value, finding.detail)
    return findings
