"""Why the agent client refuses to start: the closed set of reasons (no pydantic, imported at start-up).

Kept apart from :mod:`shared.integrity` (the signed report's wire model) so
that the client's start-up checks run before pydantic is imported.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["IntegrityReason"]


class IntegrityReason(StrEnum):
    """The closed set of reasons the client refuses to start (audited as ``reason``)."""

    DEBUGGER_ATTACHED = "debugger_attached"
    """A native debugger or tracer is attached (``TracerPid``, ``IsDebuggerPresent``)."""
    PYTHON_TRACER = "python_tracer"
    """A Python trace or profile function is set (pdb, coverage, a profiler)."""
    QT_PLUGIN_OVERRIDE = "qt_plugin_override"
    """``QT_PLUGIN_PATH`` or another variable makes Qt load plugins or QML from elsewhere."""
    NON_DEFAULT_PLATFORM = "non_default_platform"
    """A Qt platform plugin other than the desktop's own (offscreen, vnc, minimal, ...)."""
    PRELOAD_LIBRARY = "preload_library"
    """The dynamic loader is told to inject a library (``LD_PRELOAD``, ``DYLD_INSERT_LIBRARIES``, ...)."""
    CODE_INJECTION = "code_injection"
    """Code or a library from outside the installed bundle was loaded (audit hook)."""
    PYTHON_ENV_OVERRIDE = "python_env_override"
    """``PYTHONPATH``, ``PYTHONSTARTUP`` or another variable that runs foreign Python code."""
