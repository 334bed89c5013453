"""Chart.js configurations of agent activity (drawn by ``static/console.js`` from ``<canvas data-chart>``).

For thousands of agents a bar per agent is unreadable, so the dashboard
shows the busiest agents of the last hour as bars (:func:`top_agents_chart`)
and every agent as a histogram of records per hour (:func:`histogram_chart`),
whose last bin starts above the usual hourly limit. Pure functions: figures
in, a JSON-ready dict out (Chart.js 4 ``type``/``data``/``options``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

__all__ = ["BIN", "TOP", "agent_hours_chart", "histogram_bins", "histogram_chart", "top_agents_chart"]

#: Agents shown as bars on the dashboard.
TOP = 20
#: Width of a histogram bin (records per hour) and the number of bins before the open last one.
BIN = 5
_BINS = 12


def _bar(labels: list[str], values: list[int], label: str, *, horizontal: bool = False) -> dict[str, Any]:
    options: dict[str, Any] = {
        "plugins": {"legend": {"display": False}},
        "scales": {("x" if horizontal else "y"): {"beginAtZero": True, "ticks": {"precision": 0}}},
    }
    if horizontal:
        options["indexAxis"] = "y"
    return {
        "type": "bar",
        "data": {"labels": labels, "datasets": [{"label": label, "data": values}]},
        "options": options,
    }


def top_agents_chart(issued: Mapping[str, int], *, label: str, top: int = TOP) -> dict[str, Any]:
    """The ``top`` agents with the most records, busiest first, as horizontal bars.

    Args:
        issued: Login → records issued in the hour.
        label: The dataset's label (translated).
        top: How many agents.
    """
    busiest = sorted(issued.items(), key=lambda item: (-item[1], item[0]))[:top]
    return _bar([login for login, _ in busiest], [n for _, n in busiest], label, horizontal=True)


def histogram_bins(counts: Sequence[int]) -> list[tuple[str, int]]:
    """How many agents fall in each bin of records per hour: ``0``, ``1-5``, …, ``56-60``, ``61+``."""
    bins = [0] * (_BINS + 2)
    for n in counts:
        bins[0 if n <= 0 else min((n - 1) // BIN + 1, _BINS + 1)] += 1
    labels = ["0", *(f"{i * BIN + 1}-{(i + 1) * BIN}" for i in range(_BINS)), f"{_BINS * BIN + 1}+"]
    return list(zip(labels, bins, strict=True))


def histogram_chart(counts: Sequence[int], *, label: str) -> dict[str, Any]:
    """A histogram of agents by records issued in the hour (see :func:`histogram_bins`).

    Args:
        counts: One number per agent (working agents with none count as 0).
        label: The dataset's label (translated).
    """
    bins = histogram_bins(counts)
    return _bar([name for name, _ in bins], [n for _, n in bins], label)


def agent_hours_chart(hours: Sequence[tuple[datetime, int]], *, zone: tzinfo, label: str) -> dict[str, Any]:
    """One agent's records per hour, labelled with the hour's start in ``zone`` (``HH:00``, with the date at 00)."""
    labels: list[str] = []
    for hour, _ in hours:
        local = hour.astimezone(zone)
        labels.append(local.strftime("%m-%d %H:00" if local.hour == 0 or not labels else "%H:00"))
    return _bar(labels, [n for _, n in hours], label)
