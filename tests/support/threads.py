"""Run a test's work on several threads at once and raise the first failure in the test's own thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["in_threads"]


def in_threads(work: Callable[..., None], args: Iterable[tuple[Any, ...]], *, timeout_s: float) -> None:
    """Call ``work(*a)`` for each ``a`` of ``args``, each on its own thread, all started before any is joined.

    Args:
        work: What one thread does.
        args: One argument tuple per thread.
        timeout_s: Seconds each join waits at most (a thread still running then is left behind).

    Raises:
        BaseException: The first exception any thread raised (in the order they were raised).
    """
    errors: list[BaseException] = []

    def run(*a: Any) -> None:
        try:
            work(*a)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=a) for a in args]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout_s)
    if errors:
        raise errors[0]
