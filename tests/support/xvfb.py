"""A private Xvfb display for tests that need a real X11 server (clipboard, selection, real windows)."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
from collections.abc import Iterator

import pytest

__all__ = ["in_ci", "private_display"]


def in_ci() -> bool:
    """Whether the tests run in CI (where a missing Xvfb is a failure, not a skip)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@contextlib.contextmanager
def private_display() -> Iterator[str]:
    """A private Xvfb server for the block; yields its DISPLAY (``:N``). Skips without Xvfb, except in CI."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        reason = "Xvfb is not on PATH (install it with scripts/system-deps.sh)"
        if in_ci():
            pytest.fail(f"{reason}; CI must run the X11 clipboard test")
        pytest.skip(reason)
    read_fd, write_fd = os.pipe()
    # -displayfd: Xvfb picks a free display number itself and writes it once it accepts clients.
    process = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 30)
        number = os.read(read_fd, 64).decode().strip() if ready else ""
        if not number.isdigit():
            process.kill()
            _, err = process.communicate(timeout=10)
            pytest.fail(f"Xvfb did not start: {err.decode(errors='replace')[-2000:]}")
        yield f":{number}"
    finally:
        os.close(read_fd)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
