"""Driving Debian's Chromium with Playwright against the owner console, with TLS verified for real.

Playwright (the Python package) drives ``/usr/bin/chromium`` from Debian's
``chromium`` package; no browser is ever downloaded (``playwright install``
is never run). The console's certificate is trusted the way an owner's own
browser would trust it: the installation's CA (``<data dir>/tls/ca.pem``)
goes into an NSS database (``$HOME/.pki/nssdb``, made with ``certutil`` from
``libnss3-tools``) in a throwaway HOME that only this Chromium uses. Chromium
then verifies the chain, the host name and the validity dates as usual, and
contexts keep ``ignore_https_errors=False``: a name the certificate does not
hold, or another CA, is refused (a test shows it).

Being logged in without the login pages: :func:`create_console_login` makes
a console user and an ACTIVE session in the installation's database, and
:func:`deliver_session_cookie` hands the browser the very ``Set-Cookie``
header the console's own ``set_session_cookie`` writes, so the browser parses
and stores the cookie exactly as it would after a real login.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")

#: Chromium flags: no sandbox (the tests run as root), no GPU, and none of the
#: background connections (updates, sync, QUIC probes) the closed network here
#: would refuse many at a time.
LAUNCH_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: A name the installation's certificate does not hold, resolved to loopback (for the TLS check).
WRONG_NAME = "not-in-the-certificate.custos.test"

VIEWPORT = {"width": 1366, "height": 900}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (Debian package chromium; scripts/system-deps.sh installs it)"
    if shutil.which("certutil") is None:
        return "certutil is missing (Debian package libnss3-tools; scripts/system-deps.sh installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is missing (dev extras)"
    return None


def require_browser() -> None:
    """Skip the test when Chromium, certutil or Playwright is missing; fail instead in CI."""
    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


def trusting_home(home: Path, ca_pem: Path) -> Path:
    """Make ``home`` a HOME whose NSS database trusts ``ca_pem`` as a CA for web servers.

    Args:
        home: An empty directory (created when missing).
        ca_pem: The installation's CA certificate (PEM).

    Returns:
        ``home``.

    Raises:
        subprocess.CalledProcessError: certutil refused the database or the certificate.
    """
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    db = f"sql:{nssdb}"
    subprocess.run(["certutil", "-N", "-d", db, "--empty-password"], check=True, capture_output=True)
    # "C,," = a trusted CA for TLS servers only (not for mail or code signing).
    add = ["certutil", "-A", "-d", db, "-n", "custos-installation-ca", "-t", "C,,", "-i", str(ca_pem)]
    subprocess.run(add, check=True, capture_output=True)
    return home


def launch_chromium(playwright: Any, *, home: Path, headless: bool = True) -> Any:
    """Launch Debian's Chromium with HOME set to ``home`` (see :func:`trusting_home`).

    Args:
        playwright: A started sync Playwright.
        home: The HOME whose NSS database holds the trusted CA.
        headless: False to watch it under a display.

    Returns:
        A Playwright ``Browser``.
    """
    args = [*LAUNCH_ARGS, f"--host-resolver-rules=MAP {WRONG_NAME} 127.0.0.1"]
    env = {**os.environ, "HOME": str(home)}
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=args, env=env, headless=headless)


# Runs in every document before the page's own scripts (injected by the DevTools protocol, so CSP does not
# apply to it); reports each CSP violation to the test through an exposed binding.
_WATCH_SCRIPT = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__custosCspViolation({
    directive: e.effectiveDirective || e.violatedDirective,
    blocked: String(e.blockedURI || ""),
    sample: String(e.sample || ""),
    page: String(e.documentURI || ""),
  });
});
"""


@dataclass
class PageWatch:
    """What went wrong in a browser context's pages: CSP violations, console errors, uncaught JS errors.

    Attributes:
        csp_violations: One dict per ``securitypolicyviolation`` event (directive, blocked, sample, page).
        console_errors: Console messages of type ``error`` (Chromium logs CSP refusals here too) and
            failed loads of anything but the page itself (a missing script, style or htmx request).
        page_errors: Uncaught exceptions thrown by page scripts.
    """

    csp_violations: list[dict[str, str]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def attach(self, context: Any) -> None:
        """Watch every page of ``context`` (call before opening pages)."""
        context.expose_function("__custosCspViolation", self._violation)
        context.add_init_script(script=_WATCH_SCRIPT)
        context.on("page", self._watch_page)

    def _violation(self, seen: dict[str, str]) -> None:
        self.csp_violations.append(seen)

    def _watch_page(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx/5xx as "Failed to load resource"; pages a test opens on purpose
        # (a 404, a 403) say so too, so failed loads are judged in _response instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.console_errors.append(f"{response.status} for {response.request.resource_type} {response.url}")

    def clear(self) -> None:
        """Forget everything seen so far (after a step that provokes violations on purpose)."""
        self.csp_violations.clear()
        self.console_errors.clear()
        self.page_errors.clear()

    def problems(self) -> list[str]:
        """Everything seen, one line each (empty when the pages were clean)."""
        return (
            [
                f"CSP {v['directive']} blocked {v['blocked'] or v['sample']!r} on {v['page']}"
                for v in self.csp_violations
            ]
            + [f"console error: {text}" for text in self.console_errors]
            + [f"JS error: {text}" for text in self.page_errors]
        )

    def assert_clean(self) -> None:
        """Fail when any page showed a CSP violation, a console error or an uncaught JS error."""
        problems = self.problems()
        assert not problems, "\n".join(problems)


def new_console_context(browser: Any, *, locale: str = "en-GB") -> tuple[Any, PageWatch]:
    """A fresh browser context (TLS errors NOT ignored, CSP NOT bypassed) with a :class:`PageWatch`."""
    context = browser.new_context(
        ignore_https_errors=False, bypass_csp=False, viewport=VIEWPORT, locale=locale, java_script_enabled=True
    )
    watch = PageWatch()
    watch.attach(context)
    return context, watch


@dataclass(frozen=True)
class ConsoleLogin:
    """A console user logged in directly in the database.

    Attributes:
        login: The user's login.
        token: The session cookie's value.
        csrf: The session's CSRF token.
    """

    login: str
    token: str
    csrf: str


def create_console_login(
    data_dir: Path, role: Any, *, login: str | None = None, outsourcer: str = "BPO One"
) -> ConsoleLogin:
    """Create a console user of ``role`` (a supervisor of ``outsourcer``) with an ACTIVE console session.

    Works while ``custos-server serve`` runs on the same data dir (SQLite or PostgreSQL); the
    password and second factor are skipped, as after a completed login.

    Args:
        data_dir: The installation's data dir.
        role: ``Role.ADMIN``, ``Role.AUDITOR`` or ``Role.SUPERVISOR``.
        login: The login (default ``<role>.browser``); an existing user of that login is reused.
        outsourcer: A supervisor's outsourcer (created when missing).

    Returns:
        The login, its cookie token and CSRF token.
    """
    from sqlmodel import select

    from owner_server.core.datadir import open_installation
    from owner_server.core.db import session_scope
    from owner_server.identity.admin import add_outsourcer, create_user
    from owner_server.identity.console_sessions import start_console_session
    from owner_server.models import ConsoleStage, Outsourcer, Role, User

    login = login or f"{role.value}.browser"
    inst = open_installation(data_dir)
    try:
        with session_scope(inst.engine) as session:
            user = session.exec(select(User).where(User.login == login)).first()
            if user is None:
                user = create_user(
                    session, login=login, role=role, password="browser-test-password-1", actor="admin:test"
                )
            if role is Role.SUPERVISOR:
                found = session.exec(select(Outsourcer).where(Outsourcer.name == outsourcer)).first()
                user.outsourcer_id = (found or add_outsourcer(session, name=outsourcer, actor="admin:test")).id
                session.add(user)
            made = start_console_session(session, user=user, address="127.0.0.1", stage=ConsoleStage.ACTIVE)
            return ConsoleLogin(login=login, token=made.token, csrf=made.row.csrf_token)
    finally:
        inst.close()


def session_set_cookie(token: str) -> str:
    """The ``Set-Cookie`` header value the console's own ``set_session_cookie`` writes for ``token``."""
    from starlette.responses import Response

    from owner_server.console.auth import set_session_cookie

    response = Response(status_code=204)
    set_session_cookie(response, token)
    [value] = [v.decode("latin-1") for k, v in response.raw_headers if k == b"set-cookie"]
    return value


_COOKIE_PATH = "/__browser-test-login"


def deliver_session_cookie(context: Any, origin: str, token: str) -> None:
    """Let the browser receive the session cookie from ``origin`` as a response header, as after a login.

    A one-off page at ``origin`` is answered inside the browser (Playwright routing; nothing reaches
    the server) with the console's own ``Set-Cookie`` header, so Chromium applies its cookie rules
    (``__Host-`` prefix, Secure, HttpOnly, SameSite) to it.
    """
    url = origin + _COOKIE_PATH
    header = session_set_cookie(token)

    def answer(route: Any) -> None:
        route.fulfill(status=200, body="logged in", headers={"content-type": "text/plain", "set-cookie": header})

    context.route(url, answer)
    page = context.new_page()
    try:
        page.goto(url)
    finally:
        page.close()
        context.unroute(url)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG file, from its IHDR chunk (PNG specification, 11.2.2).

    Raises:
        AssertionError: The file is not a PNG.
    """
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
