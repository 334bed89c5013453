"""Console browser-test fixtures: a real ``custos-server serve`` with its console, and Debian's Chromium.

One server process, one Playwright driver and one Chromium per test module (``console_server``,
``browser``); a fresh browser context per test (``console_context``) whose
pages are watched for CSP violations and JS errors (``watch``). Log in
without the login pages with ``log_in(Role.ADMIN)``.

A module that needs agents and an imported list overrides ``console_setup``::

    @pytest.fixture(scope="module")
    def console_setup():
        return lambda root, port: prepare_installation(root, port)[0]

Mark every test module ``pytestmark = [pytest.mark.e2e, pytest.mark.browser]``
so ``-m browser`` selects them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import cli, free_port, running_server
from tests.support.browser import (
    ConsoleLogin,
    PageWatch,
    create_console_login,
    deliver_session_cookie,
    launch_chromium,
    new_console_context,
    require_browser,
    trusting_home,
)


@dataclass(frozen=True)
class ConsoleServer:
    """A running server: its data dir, the agent API's and the console's https origins, and its log."""

    data_dir: Path
    api_origin: str
    origin: str
    ca: Path
    log: Path


def bare_installation(root: Path, port: int) -> Path:
    """``custos-server init`` only (no outsourcer, campaign or list): the fastest installation."""
    data_dir = root / "data"
    cli(data_dir, "init", "--organisation", "Browser Test", "--public-url", f"https://127.0.0.1:{port}")
    return data_dir


@pytest.fixture(scope="module")
def console_setup() -> Callable[[Path, int], Path]:
    """How this module's installation is made: ``(root, agent port) -> data dir``; override for more."""
    return bare_installation


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory, console_setup) -> Iterator[ConsoleServer]:
    """``custos-server serve`` as a real process with its console on a free port, for the module."""
    require_browser()
    root = tmp_path_factory.mktemp("console")
    port, console_port = free_port(), free_port()
    data_dir = console_setup(root, port)
    log = root / "server.log"
    with running_server(data_dir, port, log, console_port=console_port):
        yield ConsoleServer(
            data_dir=data_dir,
            api_origin=f"https://127.0.0.1:{port}",
            origin=f"https://127.0.0.1:{console_port}",
            ca=data_dir / "tls" / "ca.pem",
            log=log,
        )


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """A started sync Playwright (its bundled driver; the browser is Debian's).

    Per module, not per session: its event loop and driver process are gone before the suite's
    other (asyncio, Qt) tests run.
    """
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser(playwright, console_server: ConsoleServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium trusting this module's installation CA (and nothing else of ours)."""
    home = trusting_home(tmp_path_factory.mktemp("chromium-home"), console_server.ca)
    launched = launch_chromium(playwright, home=home)
    yield launched
    launched.close()


@pytest.fixture
def console_context(browser) -> Iterator[tuple[Any, PageWatch]]:
    """A fresh context (no cookies; TLS verified; CSP in force) and the watch on its pages."""
    context, watch = new_console_context(browser)
    yield context, watch
    context.close()


@pytest.fixture
def context(console_context) -> Any:
    """The test's browser context."""
    return console_context[0]


@pytest.fixture
def watch(console_context) -> PageWatch:
    """CSP violations, console errors and JS errors of the test's pages."""
    return console_context[1]


@pytest.fixture
def page(context) -> Any:
    """A page in the test's context."""
    return context.new_page()


@pytest.fixture
def log_in(console_server: ConsoleServer, context) -> Callable[..., ConsoleLogin]:
    """``log_in(Role.ADMIN, login=..., outsourcer=...)``: a user with an active session, its cookie in the context."""

    def make(role: Any, *, login: str | None = None, outsourcer: str = "BPO One") -> ConsoleLogin:
        made = create_console_login(console_server.data_dir, role, login=login, outsourcer=outsourcer)
        deliver_session_cookie(context, console_server.origin, made.token)
        return made

    return make
