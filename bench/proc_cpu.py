"""CPU seconds and resident memory of a process and its descendants, and the load average, from ``/proc`` (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["load_average", "tree_cpu_s", "tree_rss_mb"]

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _stats() -> dict[int, tuple[int, float, int, float]]:
    """pid → (parent pid, user + system CPU s, resident bytes, CPU s of its exited and reaped children)."""
    out: dict[int, tuple[int, float, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
        cpu, reaped = (int(fields[11]) + int(fields[12])) / _TICK, (int(fields[13]) + int(fields[14])) / _TICK
        out[int(entry.name)] = (int(fields[1]), cpu, int(fields[21]) * _PAGE, reaped)
    return out


def _tree(stats: dict[int, tuple[int, float, int, float]], roots: tuple[int, ...]) -> list[int]:
    """``roots`` (those alive) and every live descendant."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_) in stats.items():
        children.setdefault(ppid, []).append(pid)
    todo, seen = list(roots), []
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.append(pid)
        todo.extend(children.get(pid, []))
    return seen


def tree_cpu_s(*roots: int, reaped: bool = False) -> float:
    """User + system CPU seconds used so far by ``roots`` and every live descendant.

    Args:
        roots: Process ids; unknown ones count 0.
        reaped: Count exited descendants too, once their parent has waited for them (``cutime`` +
            ``cstime``: a PostgreSQL backend or autovacuum worker that ended); else they are not counted.
    """
    stats = _stats()
    return sum(stats[pid][1] + (stats[pid][3] if reaped else 0.0) for pid in _tree(stats, roots))


def tree_rss_mb(*roots: int) -> float:
    """Resident memory of ``roots`` and every live descendant, summed, in MB (pages shared between them count twice)."""
    stats = _stats()
    return round(sum(stats[pid][2] for pid in _tree(stats, roots)) / 1e6, 1)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` shows them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
