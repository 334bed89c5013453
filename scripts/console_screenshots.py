"""Screenshots of every console page in English and Polish, through Debian's Chromium (Playwright).

Usage (a console running, e.g. ``custos-server demo`` or ``serve``)::

    .venv/bin/python scripts/console_screenshots.py --url https://127.0.0.1:8444 --data-dir DIR --out shots/
    # more: --path /agents/1 (repeatable), --role supervisor --outsourcer "BPO One", --lang pl

With ``--data-dir`` a console user (``--login``, default ``screenshots.<role>``;
created when missing) gets a fresh active session in that installation's
database, and the CA is ``<data dir>/tls/ca.pem``. Without it give ``--ca``
and ``--token`` (or ``CUSTOS_CONSOLE_TOKEN``): the value of a logged-in
browser's ``__Host-custos-console`` cookie.

Visits every page of the menu (``owner_server.console.nav.NAV``) and each
``--path`` in each language (switched with ``/lang/<code>``) at 1366×900,
saving ``<lang>-<page>.png`` (the whole page) into ``--out``, and prints one
line per page: its HTTP status and any CSP violation or JS error. Exits 1 when
a page had one, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from owner_server.console.nav import NAV  # noqa: E402
from owner_server.models import Role  # noqa: E402
from tests.support.browser import (  # noqa: E402
    browser_missing,
    create_console_login,
    deliver_session_cookie,
    launch_chromium,
    new_console_context,
    trusting_home,
)

LANGUAGES = ("en", "pl")


def page_name(path: str) -> str:
    """A file-name part for ``path``: ``/`` → ``home``, ``/agents/1?x=2`` → ``agents-1-x-2``."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")
    return name or "home"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(description="Screenshot every console page in English and Polish.")
    parser.add_argument("--url", required=True, help="the console's https origin, e.g. https://127.0.0.1:8444")
    parser.add_argument("--data-dir", type=Path, help="the installation: its CA, and a session made for --login")
    parser.add_argument("--ca", type=Path, help="the CA certificate to trust (default <data dir>/tls/ca.pem)")
    parser.add_argument("--token", default=os.environ.get("CUSTOS_CONSOLE_TOKEN", ""), help="a session cookie value")
    parser.add_argument("--role", choices=[r.value for r in (Role.ADMIN, Role.AUDITOR, Role.SUPERVISOR)])
    parser.add_argument("--login", help="the console user to log in with --data-dir (default screenshots.<role>)")
    parser.add_argument("--outsourcer", default="BPO One", help="a supervisor's outsourcer")
    parser.add_argument("--path", action="append", default=[], help="another page to take (repeatable)")
    parser.add_argument("--lang", action="append", choices=LANGUAGES, help="only these languages (repeatable)")
    parser.add_argument("--out", type=Path, default=Path("console-shots"), help="where the PNGs go")
    args = parser.parse_args(argv)
    args.url = args.url.rstrip("/")
    if not args.url.startswith("https://"):
        parser.error("--url is the console's https:// origin")
    if args.ca is None and args.data_dir is not None:
        args.ca = args.data_dir / "tls" / "ca.pem"
    if args.ca is None or not args.ca.is_file():
        parser.error("give --data-dir or --ca with the installation's CA certificate")
    if not args.token and args.data_dir is None:
        parser.error("give --token (or CUSTOS_CONSOLE_TOKEN) or --data-dir to log in")
    args.role = Role(args.role or "admin")
    return args


def take(args: argparse.Namespace) -> int:
    """Take the screenshots; returns how many pages showed a CSP violation or JS error."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    token = args.token
    if not token:
        token = create_console_login(args.data_dir, args.role, login=args.login, outsourcer=args.outsourcer).token
    paths = [item.path for item in NAV] + [p for p in args.path if p not in {item.path for item in NAV}]
    args.out.mkdir(parents=True, exist_ok=True)
    bad = 0
    with tempfile.TemporaryDirectory(prefix="custos-shots-") as home, sync_playwright() as playwright:
        browser = launch_chromium(playwright, home=trusting_home(Path(home), args.ca))
        context, watch = new_console_context(browser)
        deliver_session_cookie(context, args.url, token)
        page = context.new_page()
        for lang in args.lang or LANGUAGES:
            page.goto(f"{args.url}/lang/{lang}?next=/")
            for path in paths:
                watch.clear()
                response = page.goto(args.url + path)
                with contextlib.suppress(PlaywrightError):  # a page that keeps polling: take it as it is
                    page.wait_for_load_state("networkidle", timeout=10_000)
                target = args.out / f"{lang}-{page_name(path)}.png"
                page.screenshot(path=str(target), full_page=True)
                status = response.status if response is not None else 0
                problems = watch.problems()
                bad += bool(problems)
                landed = page.url.removeprefix(args.url)
                moved = f" -> {landed}" if landed != path else ""
                print(f"{lang} {path}{moved}: {status} {target.name}" + "".join(f"\n    {p}" for p in problems))
        browser.close()
    return bad


def main(argv: list[str] | None = None) -> int:
    """Run the command line; see the module's docstring for the exit codes."""
    args = parse_args(argv)
    missing = browser_missing()
    if missing:
        print(f"cannot take screenshots: {missing}", file=sys.stderr)
        return 2
    return 1 if take(args) else 0


if __name__ == "__main__":
    sys.exit(main())
