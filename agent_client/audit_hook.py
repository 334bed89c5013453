"""A Python audit hook (PEP 578) that stops a frozen build from running code from outside its bundle.

Installed first thing in a frozen (PyInstaller) build by
:func:`install`. It watches a few audit events (the names and arguments are
CPython's audit events table, docs.python.org/3/library/audit_events.html):

* ``ctypes.dlopen``: a library by bare name (the system's search, which the
  start-up checks keep free of ``LD_PRELOAD`` and the like) or by a path in
  the bundle or the system's library directories; any other path is refused;
* ``compile`` and ``exec``: the Python code that asks for them must itself
  come from the bundle (or be one of the interpreter's frozen modules, such
  as importlib); code compiled from C with no Python caller (an injector
  calling ``PyRun_SimpleString``) is refused, and so is executing a code
  object whose file is outside the bundle;
* ``import``: every ``sys.path`` entry and the module's file must be in the bundle;
* ``cpython.run_*``: the interpreter running a command, file, startup file
  or an interactive prompt (``PYTHONINSPECT`` set at runtime).

A violation calls ``on_violation`` (the client reports it and exits) and,
should that return, aborts the operation with :class:`IntegrityViolationError`.
Events raised while ``on_violation`` runs pass, so that the report itself
can import and connect.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from types import CodeType

from shared.integrity_reasons import IntegrityReason

__all__ = ["BundleGuard", "IntegrityViolationError", "bundle_roots", "install"]

#: System library directories a library may be loaded from by path.
SYSTEM_LIBRARY_DIRS: dict[str, tuple[str, ...]] = {
    "linux": ("/lib", "/lib64", "/usr/lib", "/usr/lib64"),
    "darwin": ("/usr/lib", "/System/Library"),
    "win32": (os.path.join(os.environ.get("SYSTEMROOT", r"C:\Windows"), "System32"),),
}
_RUN_EVENTS = frozenset(
    {
        "cpython.run_command",
        "cpython.run_file",
        "cpython.run_interactivehook",
        "cpython.run_module",
        "cpython.run_startup",
        "cpython.run_stdin",
    }
)
_WATCHED = frozenset({"ctypes.dlopen", "compile", "exec", "import"}) | _RUN_EVENTS


class IntegrityViolationError(RuntimeError):
    """Raised from the audit hook to abort an operation that loads foreign code."""


def _norm(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def _caller_file() -> str | None:
    """The file of the Python code that raised the audit event (frame 2: past this function and the hook)."""
    try:
        return sys._getframe(2).f_code.co_filename
    except ValueError:  # no Python caller: the event came from C
        return None


class BundleGuard:
    """The audit hook: allows what comes from ``roots``, refuses the rest.

    Args:
        roots: The bundle's directories (:func:`bundle_roots`), the bundle itself first.
        on_violation: Called with the reason (``code_injection``) and the event
            name on a violation; the client reports it and exits.
        library_dirs: Where a library may be loaded from by path besides the bundle.
        caller_file: Returns the file of the code that raised the event, None
            when there is none (tests give synthetic callers).
    """

    def __init__(
        self,
        roots: Iterable[str],
        on_violation: Callable[[IntegrityReason, str], None],
        *,
        library_dirs: Sequence[str] = (),
        caller_file: Callable[[], str | None] | None = None,
    ) -> None:
        self._roots = tuple(dict.fromkeys(_norm(root) for root in roots))
        self._library_dirs = tuple(_norm(d) for d in library_dirs)
        self._on_violation = on_violation
        self._caller_file = caller_file
        self._busy = False

    def inside(self, path: str, extra: Sequence[str] = ()) -> bool:
        """Whether ``path`` lies in one of the roots (or in ``extra``)."""
        full = _norm(path)
        return any(full == root or full.startswith(root.rstrip(os.sep) + os.sep) for root in (*self._roots, *extra))

    def code_inside(self, filename: str) -> bool:
        """Whether a code object's file is the bundle's (a pseudo name such as ``<stdin>`` is not).

        PyInstaller stores bundled code with paths relative to the bundle (it
        strips the build machine's), so a relative name is read from the first root.
        """
        if filename.startswith("<"):
            return False
        if not os.path.isabs(filename) and self._roots:
            return self.inside(os.path.join(self._roots[0], filename))
        return self.inside(filename)

    def _trusted_caller(self, caller: str | None) -> bool:
        return caller is not None and (caller.startswith("<frozen ") or self.code_inside(caller))

    def _violation(self, event: str, args: tuple[object, ...], caller: str | None) -> bool:
        if event in _RUN_EVENTS:
            return True
        if event == "ctypes.dlopen":
            name = args[0] if args else None
            if not isinstance(name, str) or (os.sep not in name and "/" not in name):
                return False
            return not self.inside(name, self._library_dirs)
        if event == "compile":
            return not self._trusted_caller(caller)
        if event == "exec":
            code = args[0] if args else None
            filename = code.co_filename if isinstance(code, CodeType) else ""
            foreign = bool(filename) and not filename.startswith("<") and not self.code_inside(filename)
            return foreign or not self._trusted_caller(caller)
        module_file = args[1] if len(args) > 1 else None
        path = args[2] if len(args) > 2 and isinstance(args[2], list) else []
        outside = [entry for entry in path if isinstance(entry, str) and not self.inside(entry)]
        return bool(outside) or (isinstance(module_file, str) and not self.inside(module_file))

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        """The hook :func:`sys.addaudithook` calls for every audit event."""
        if event not in _WATCHED or self._busy:
            return
        caller = self._caller_file() if self._caller_file is not None else _caller_file()
        if not self._violation(event, args, caller):
            return
        self._busy = True
        try:
            self._on_violation(IntegrityReason.CODE_INJECTION, event)
        finally:
            self._busy = False
        raise IntegrityViolationError(f"refused: {event} of code from outside the installed client")


def bundle_roots() -> list[str]:
    """The frozen build's own directories: PyInstaller's ``sys._MEIPASS``, the executable's and the prefixes.

    In a real frozen build the prefixes are the bundle too (PyInstaller sets
    them so); a frozen-simulated test run gets its virtual environment and
    the interpreter's standard library.
    """
    roots = [os.path.dirname(sys.executable), sys.prefix, sys.base_prefix, sys.exec_prefix]
    bundle = getattr(sys, "_MEIPASS", None)
    return [bundle, *roots] if isinstance(bundle, str) else roots


def install(on_violation: Callable[[IntegrityReason, str], None]) -> BundleGuard:
    """Install the guard for this process (an audit hook stays until the process ends).

    Args:
        on_violation: See :class:`BundleGuard`.

    Returns:
        The installed guard.
    """
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    guard = BundleGuard(bundle_roots(), on_violation, library_dirs=SYSTEM_LIBRARY_DIRS.get(platform, ()))
    sys.addaudithook(guard)
    return guard
