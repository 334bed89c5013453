"""Start-up benchmark: the agent client's cold start and peak RSS beside a PySide6 hello-world window.

Run by hand from the repository root (results go in bench/README.md)::

    .venv/bin/python -m bench.client_start --runs 10 --platform xcb

Each run spawns a fresh Python process, alternating the two programs:

* **hello**: ``QApplication`` and one ``QLabel`` shown, nothing else;
* **client**: ``custos-agent`` itself (``agent_client.main.main``) with a
  deployment config pointing at an unreachable server and
  ``--ephemeral-keyring``: not enrolled, so its first window is the
  enrolment dialog, and no server is needed.

Start time is from just before the process is spawned until its first
top-level window is exposed: an event filter on the application prints a
marker with the child's peak RSS so far (``ru_maxrss``) on the first
``QEvent.Expose`` of an exposed window, and the parent takes the time when
that line arrives. The hello world then quits. The client goes on until it
is **ready**: ``AppController.start`` has returned, so the connection is
built (keyring opened, pinned TLS context, httpx client, outbox opened);
a second marker says so and the client quits. Its peak RSS then is
``ru_maxrss`` from ``os.wait4``. Prints min and median of each and the
ratios against the target (at most 1.5x the start time, at most 40 MB more,
to the first window) and the same figures for the ready client.

``--platform xcb`` starts a private Xvfb when ``DISPLAY`` is unset;
``offscreen`` needs no X server (the smoke test uses it). By default the
client runs as shipped: the bundle (``packaging/custos-agent.spec``) leaves
out rich, click, pygments and typer, which httpx's optional command line
would import, so they are blocked (:data:`SHIPPED_BLOCK`); ``--block ""``
measures with them, ``--block a,b`` blocks others.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MARKER = "CUSTOS-BENCH-SHOWN"
READY_MARKER = "CUSTOS-BENCH-READY"
#: What the client bundle does not ship (PyInstaller ``excludes`` of packaging/custos-agent.spec).
SHIPPED_BLOCK = "rich,click,pygments,typer"
TARGET_RATIO = 1.5
TARGET_EXTRA_MB = 40.0
_TIMEOUT_S = 120.0


def _peak_rss_kib() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def quit_on_first_window(base: Any, *, quit_after: bool = True) -> Any:
    """Subclass ``base`` (a ``QApplication`` class) to print :data:`MARKER` and the peak RSS once a window is exposed.

    Args:
        base: The application class.
        quit_after: Quit right after the marker (else the program goes on).
    """
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtGui import QWindow

    class _Watcher(QObject):
        def __init__(self, app: Any) -> None:
            super().__init__(app)
            self._app = app
            self._seen = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
            exposed = event.type() == QEvent.Type.Expose and isinstance(watched, QWindow) and watched.isExposed()
            if exposed and not self._seen:
                self._seen = True
                print(MARKER, _peak_rss_kib(), flush=True)  # noqa: T201 - the parent waits for it
                if quit_after:
                    QTimer.singleShot(0, self._app.quit)
            return False

    class _Benched(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.installEventFilter(_Watcher(self))

    return _Benched


def _child_hello() -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = quit_on_first_window(QApplication)(sys.argv[:1])
    label = QLabel("Hello, world")
    label.show()
    return int(app.exec())


def _child_client(config: str, blocked: list[str]) -> int:
    for name in blocked:  # as if the bundle did not ship them (PyInstaller ``excludes``)
        sys.modules[name] = None  # type: ignore[assignment]
    import agent_client.main as client

    class _ReadyController(client.AppController):  # type: ignore[misc, name-defined]
        def start(self, *args: Any) -> None:
            super().start(*args)  # the connection is built (or the start failed: no marker, the run fails)
            if self._connection is not None:
                print(READY_MARKER, _peak_rss_kib(), flush=True)  # noqa: T201 - the parent waits for it
                from PySide6.QtCore import QTimer

                QTimer.singleShot(0, client.QApplication.instance().quit)

    client.QApplication = quit_on_first_window(client.QApplication, quit_after=False)  # type: ignore[misc]
    client.AppController = _ReadyController  # type: ignore[misc]
    return client.main(["--config", config, "--ephemeral-keyring", "--lang", "en"])


@dataclass(frozen=True)
class Sample:
    program: str
    start_s: float
    max_rss_mb: float  # peak RSS when the first window was exposed
    ready_s: float  # the hello world: = start_s
    ready_rss_mb: float  # peak RSS of the whole run (os.wait4)


def _marker(buffer: bytes, marker: str) -> int | None:
    """The peak RSS (KiB) printed after ``marker`` on a complete line of ``buffer``, or None."""
    for line in buffer.decode(errors="replace").splitlines(keepends=True):
        fields = line.split()
        if line.endswith("\n") and len(fields) == 2 and fields[0] == marker and fields[1].isdigit():
            return int(fields[1])
    return None


def _spawn(program: str, config: Path, env: dict[str, str], blocked: str = "") -> Sample:
    argv = [sys.executable, "-m", "bench.client_start", "--child", program, "--config", str(config)]
    argv += ["--block", blocked]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)  # noqa: S603 - our own
    assert proc.stdout is not None
    shown = ready = None
    shown_rss: int | None = None
    wait_for_ready = program == "client"
    deadline = started + _TIMEOUT_S
    buffer = b""
    while (ready is None if wait_for_ready else shown is None) and time.monotonic() < deadline:
        readable, _, _ = select.select([proc.stdout], [], [], 1.0)
        if not readable:
            continue
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        buffer += chunk
        now = time.monotonic()
        if shown is None and (shown_rss := _marker(buffer, MARKER)) is not None:
            shown = now
        if shown is not None and ready is None and _marker(buffer, READY_MARKER) is not None:
            ready = now
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    errors = proc.stderr.read().decode(errors="replace") if proc.stderr is not None else ""
    proc.stdout.close()
    if proc.stderr is not None:
        proc.stderr.close()
    if shown is None or shown_rss is None or (wait_for_ready and ready is None) or proc.returncode != 0:
        raise RuntimeError(f"{program} showed no window or was not ready (exit {proc.returncode}): {errors[-2000:]}")
    ready = ready if ready is not None else shown
    return Sample(program, shown - started, shown_rss / 1024, ready - started, usage.ru_maxrss / 1024)


def _write_config(directory: Path) -> Path:
    """A deployment config with a throwaway CA and a server nobody listens on (the client never connects)."""
    import datetime

    import tomli_w
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    path = directory / "custos-agent.toml"
    path.write_text(
        tomli_w.dumps({"server_url": "https://127.0.0.1:9", "organisation": "Bench", "ca_certificate": pem})
    )
    return path


@contextmanager
def _display(platform: str) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env["QT_QPA_PLATFORM"] = platform
    if platform != "xcb" or env.get("DISPLAY"):
        yield env
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SystemExit("client_start: --platform xcb needs DISPLAY or Xvfb")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(  # noqa: S603 - a fixed program
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 30)
        number = os.read(read_fd, 64).decode().strip() if ready else ""
        if not number.isdigit():
            raise SystemExit("client_start: Xvfb did not start")
        yield {**env, "DISPLAY": f":{number}"}
    finally:
        os.close(read_fd)
        proc.terminate()
        proc.wait(timeout=10)


@dataclass(frozen=True)
class Result:
    platform: str
    runs: int
    blocked: str
    hello_start_min_s: float
    hello_start_median_s: float
    client_start_min_s: float
    client_start_median_s: float
    hello_rss_median_mb: float
    client_rss_median_mb: float
    start_ratio: float
    extra_rss_mb: float
    within_target: bool
    client_ready_min_s: float
    client_ready_median_s: float
    client_ready_rss_median_mb: float
    ready_ratio: float
    ready_extra_rss_mb: float


def run(runs: int, platform: str, blocked: str = SHIPPED_BLOCK) -> Result:
    """Alternate ``runs`` starts of each program and summarise them."""
    samples: dict[str, list[Sample]] = {"hello": [], "client": []}
    with tempfile.TemporaryDirectory() as tmp, _display(platform) as env:
        home = Path(tmp)
        env = {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config")}
        config = _write_config(home)
        for index in range(runs * 2):
            program = ("hello", "client")[index % 2]
            samples[program].append(_spawn(program, config, env, blocked if program == "client" else ""))
    hello = [s.start_s for s in samples["hello"]]
    client = [s.start_s for s in samples["client"]]
    hello_rss = statistics.median(s.max_rss_mb for s in samples["hello"])
    client_rss = statistics.median(s.max_rss_mb for s in samples["client"])
    ratio = statistics.median(client) / statistics.median(hello)
    extra = client_rss - hello_rss
    ready = [s.ready_s for s in samples["client"]]
    ready_rss = statistics.median(s.ready_rss_mb for s in samples["client"])
    return Result(
        platform=platform,
        runs=runs,
        blocked=blocked,
        hello_start_min_s=round(min(hello), 3),
        hello_start_median_s=round(statistics.median(hello), 3),
        client_start_min_s=round(min(client), 3),
        client_start_median_s=round(statistics.median(client), 3),
        hello_rss_median_mb=round(hello_rss, 1),
        client_rss_median_mb=round(client_rss, 1),
        start_ratio=round(ratio, 2),
        extra_rss_mb=round(extra, 1),
        within_target=ratio <= TARGET_RATIO and extra <= TARGET_EXTRA_MB,
        client_ready_min_s=round(min(ready), 3),
        client_ready_median_s=round(statistics.median(ready), 3),
        client_ready_rss_median_mb=round(ready_rss, 1),
        ready_ratio=round(statistics.median(ready) / statistics.median(hello), 2),
        ready_extra_rss_mb=round(ready_rss - hello_rss, 1),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--child``, be one of the measured programs)."""
    parser = argparse.ArgumentParser(prog="python -m bench.client_start", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="starts of each program (default 10)")
    parser.add_argument("--platform", choices=("xcb", "offscreen"), default="xcb")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    parser.add_argument(
        "--block",
        default=SHIPPED_BLOCK,
        help=f"comma-separated modules the client may not import (default, as shipped: {SHIPPED_BLOCK}; '' for none)",
    )
    parser.add_argument("--child", choices=("hello", "client"), help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "hello":
        return _child_hello()
    if args.child == "client":
        return _child_client(args.config, [name for name in args.block.split(",") if name])
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    result = run(args.runs, args.platform, args.block)
    if args.json:
        print(json.dumps(asdict(result)))  # noqa: T201 - the benchmark's output
    else:
        for key, value in asdict(result).items():
            print(f"{key:>22}: {value}")  # noqa: T201 - the benchmark's output
    return 0


if __name__ == "__main__":
    sys.exit(main())
