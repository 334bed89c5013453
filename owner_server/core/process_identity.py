"""Which process holds a lock, in a form another process can check is still alive.

A running import records ``host:boot:pid:start`` on its batch. Another import
on the same machine can then tell at once that the holder died (``kill -9``, a
crash, a power cut): the pid is gone, or now belongs to a process that started
at another time. On another machine, or where the platform cannot tell, the
answer is "unknown" and the caller falls back to the batch's heartbeat age.

Linux only reads ``/proc`` (``/proc/sys/kernel/random/boot_id`` and field 22,
``starttime``, of ``/proc/<pid>/stat``; see proc(5)).
"""

from __future__ import annotations

import os
import socket
from enum import Enum
from pathlib import Path

__all__ = ["Liveness", "current_process_identity", "liveness"]

_PROC = Path("/proc")


class Liveness(Enum):
    """Whether a recorded process is still running."""

    ALIVE = "alive"
    DEAD = "dead"
    UNKNOWN = "unknown"


def _boot_id(proc: Path) -> str | None:
    try:
        return (proc / "sys" / "kernel" / "random" / "boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return None


def _start_time(proc: Path, pid: int) -> str | None:
    try:
        stat = (proc / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ")"
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def current_process_identity(proc: Path = _PROC) -> str:
    """This process as ``host:boot:pid:start`` (boot and start empty where the platform has no /proc).

    Returns:
        At most 200 characters (the column's size).
    """
    pid = os.getpid()
    host = socket.gethostname()[:100].replace(":", "_")
    return f"{host}:{_boot_id(proc) or ''}:{pid}:{_start_time(proc, pid) or ''}"[:200]


def liveness(identity: str | None, proc: Path = _PROC) -> Liveness:
    """Whether the process an identity names still runs.

    Args:
        identity: What :func:`current_process_identity` returned in that process, or None.
        proc: The proc file system (injected for tests).

    Returns:
        DEAD when it ran on this machine since this boot and is gone (or its pid was reused);
        ALIVE when it still runs; UNKNOWN when another machine or boot, or no /proc, can't tell.
    """
    if not identity:
        return Liveness.UNKNOWN
    host, boot, pid_text, start = (identity.rsplit(":", 3) + ["", "", ""])[:4]
    if host != socket.gethostname()[:100].replace(":", "_") or not boot or not start or not pid_text.isdigit():
        return Liveness.UNKNOWN
    if boot != _boot_id(proc):
        return Liveness.DEAD if _boot_id(proc) else Liveness.UNKNOWN  # this machine rebooted since
    now = _start_time(proc, int(pid_text))
    return Liveness.ALIVE if now == start else Liveness.DEAD
