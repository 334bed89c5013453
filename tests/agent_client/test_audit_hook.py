"""The frozen build's audit hook: synthetic events against the hook function, then the real hook in a process."""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent_client.audit_hook import BundleGuard, IntegrityViolationError, bundle_roots
from shared.integrity import IntegrityReason

PROBE = Path(__file__).with_name("audit_hook_probe.py")
BUNDLE = "/opt/custos-agent/_internal"


def guard(caller: str | None = f"{BUNDLE}/agent_client/main.py"):
    seen: list[tuple[IntegrityReason, str]] = []
    hook = BundleGuard(
        [BUNDLE],
        lambda reason, event: seen.append((reason, event)),
        library_dirs=["/usr/lib"],
        caller_file=lambda: caller,
    )
    return hook, seen


@pytest.mark.parametrize(
    "name",
    [None, "libc.so.6", "kernel32", f"{BUNDLE}/PySide6/libpyside6.abi3.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6"],
)
def test_libraries_by_name_from_the_bundle_or_the_system_are_allowed(name):
    hook, seen = guard()
    hook("ctypes.dlopen", (name,))
    assert seen == []


@pytest.mark.parametrize("name", ["/srv/foreign/inject.so", "/home/agent/.local/lib/hook.so", f"{BUNDLE}/../evil.so"])
def test_a_library_from_elsewhere_is_refused(name):
    hook, seen = guard()
    with pytest.raises(IntegrityViolationError):
        hook("ctypes.dlopen", (name,))
    assert seen == [(IntegrityReason.CODE_INJECTION, "ctypes.dlopen")]


@pytest.mark.parametrize(
    "caller",
    [
        f"{BUNDLE}/dataclasses.py",
        "<frozen importlib._bootstrap>",
        "dataclasses.py",  # PyInstaller strips bundled code's paths to bundle-relative ones
        "PyInstaller/loader/pyimod02_importers.py",
    ],
)
def test_compiling_is_allowed_for_code_from_the_bundle(caller):
    hook, seen = guard(caller)
    hook("compile", (b"x = 1", "<string>"))
    hook("exec", (compile("x = 1", "<string>", "exec"),))
    assert seen == []


@pytest.mark.parametrize("caller", [None, "/srv/foreign/payload.py", "<stdin>", "../../srv/foreign/payload.py"])
def test_compiling_for_foreign_code_or_with_no_python_caller_is_refused(caller):
    hook, seen = guard(caller)
    with pytest.raises(IntegrityViolationError):
        hook("compile", (b"import os", "<string>"))
    assert seen == [(IntegrityReason.CODE_INJECTION, "compile")]


def test_executing_a_code_object_from_a_foreign_file_is_refused():
    hook, seen = guard()
    hook("exec", (compile("x = 1", f"{BUNDLE}/agent_client/app.py", "exec"),))
    hook("exec", (compile("x = 1", "agent_client/app.py", "exec"),))  # as PyInstaller stores it
    with pytest.raises(IntegrityViolationError):
        hook("exec", (compile("x = 1", "/srv/foreign/payload.py", "exec"),))
    assert seen == [(IntegrityReason.CODE_INJECTION, "exec")]


def test_imports_with_a_foreign_path_entry_or_file_are_refused():
    hook, seen = guard()
    hook("import", ("json", None, [f"{BUNDLE}/base_library.zip", BUNDLE], [], []))
    for args in (
        ("evil", None, [BUNDLE, "/srv/foreign/x"], [], []),
        ("evil", "/srv/foreign/x/evil.py", [BUNDLE], [], []),
    ):
        with pytest.raises(IntegrityViolationError):
            hook("import", args)
    assert len(seen) == 2


@pytest.mark.parametrize("event", ["cpython.run_stdin", "cpython.run_interactivehook", "cpython.run_command"])
def test_the_interpreter_running_a_prompt_or_command_is_refused(event):
    hook, seen = guard()
    with pytest.raises(IntegrityViolationError):
        hook(event, ())
    assert seen == [(IntegrityReason.CODE_INJECTION, event)]


def test_unwatched_events_pass_and_events_during_the_report_pass():
    def report(reason, event):
        hook("ctypes.dlopen", ("/srv/foreign/also-foreign.so",))  # the report itself loads, connects...
        seen.append(event)

    seen: list[str] = []
    hook = BundleGuard([BUNDLE], report, caller_file=lambda: None)
    hook("open", ("/srv/foreign/anything", "r", 0))
    with pytest.raises(IntegrityViolationError):
        hook("ctypes.dlopen", ("/srv/foreign/foreign.so",))
    assert seen == ["ctypes.dlopen"]


def test_bundle_roots_prefer_pyinstallers_directory(monkeypatch):
    monkeypatch.setattr(sys, "_MEIPASS", BUNDLE, raising=False)
    assert bundle_roots()[0] == BUNDLE and os.path.dirname(sys.executable) in bundle_roots()


def _probe(*args: str) -> subprocess.CompletedProcess[str]:
    # cwd: the venv's editable-install entry in sys.path is a bare name, resolved against it (no such entry when frozen)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")} | {"QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, str(PROBE), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
        cwd=PROBE.parents[2],
    )


def test_real_hook_lets_the_clients_normal_work_through():
    done = _probe("normal")
    assert (done.returncode, done.stdout.strip()) == (0, "OK"), done.stderr[-2000:]


def test_real_hook_stops_a_library_copied_outside_the_bundle(tmp_path):
    found = ctypes.util.find_library("m")
    if found is None:
        pytest.skip("no libm to copy")
    source = next(
        (d / found for d in (Path("/lib/x86_64-linux-gnu"), Path("/usr/lib/x86_64-linux-gnu")) if (d / found).exists()),
        None,
    )
    if source is None:
        pytest.skip("libm not found on disk")
    library = tmp_path / "libinjected.so"
    shutil.copy(source, library)
    done = _probe("dlopen", str(library))
    assert (done.returncode, done.stdout.strip()) == (3, "VIOLATION code_injection ctypes.dlopen")


def test_real_hook_stops_running_a_foreign_python_file(tmp_path):
    payload = tmp_path / "payload.py"
    payload.write_text("print('PAYLOAD RAN')\n")
    done = _probe("run-file", str(payload))
    assert done.returncode == 3 and "PAYLOAD RAN" not in done.stdout
    assert done.stdout.startswith("VIOLATION code_injection exec")


def test_real_hook_stops_an_import_from_a_foreign_directory(tmp_path):
    (tmp_path / "foreign_module.py").write_text("print('FOREIGN IMPORTED')\n")
    done = _probe("import-from", str(tmp_path))
    assert done.returncode == 3 and "FOREIGN IMPORTED" not in done.stdout
    assert done.stdout.startswith("VIOLATION code_injection import")


def test_real_hook_allows_exec_of_a_string_by_bundle_code():
    done = _probe("exec-string")
    assert (done.returncode, done.stdout.strip()) == (0, "OK"), done.stderr[-2000:]
