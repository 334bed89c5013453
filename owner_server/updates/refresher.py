"""The running server keeps the update metadata fresh: timestamp (1 day) and snapshot (1 week) re-signed in time."""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool
from tuf.api.exceptions import RepositoryError

from owner_server.updates.repository import UpdateRepository
from shared.errors import CustosError

__all__ = ["REFRESH_EVERY_S", "keep_fresh", "refresh_once"]

#: How often the server looks at the expiry dates (the margins are hours to days).
REFRESH_EVERY_S = 300.0

log = logging.getLogger("custos.updates")


def refresh_once(repo: UpdateRepository) -> list[str]:
    """Re-sign whatever is near expiry, if there is a repository; never raises (logs one line instead).

    Returns:
        The roles re-signed.
    """
    if not repo.layout.exists():
        return []
    try:
        due = repo.refresh()
        root_left = repo.expiries()["root"] - repo.clock()
    except (CustosError, RepositoryError, OSError) as exc:
        log.error("refreshing the update metadata failed: %s", type(exc).__name__)
        return []
    if due:
        log.info("re-signed update metadata: %s", ", ".join(due))
    if root_left < repo.root_warning:
        log.warning("update root metadata expires soon: run `custos-server release keys rotate-online`")
    return due


async def keep_fresh(repo: UpdateRepository, every_s: float = REFRESH_EVERY_S) -> None:
    """At start and every ``every_s`` seconds: :func:`refresh_once` on a worker thread (until cancelled)."""
    while True:
        await run_in_threadpool(refresh_once, repo)
        await asyncio.sleep(every_s)
