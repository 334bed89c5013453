"""The console's guard: one ``require`` per route, every refused role refused, CSRF, CSP and the session cookie."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from sqlmodel import select

from owner_server.console.auth import COOKIE, Requirement
from owner_server.console.headers import CSP
from owner_server.console.i18n import catalog
from owner_server.console.nav import NAV
from owner_server.console.permissions import ROLE_PERMISSIONS
from owner_server.console.routes import PUBLIC, ROUTERS
from owner_server.core.db import session_scope
from owner_server.models import ConsoleSession, Role
from tests.owner_server.console.conftest import log_in

CONSOLE_ROLES = (Role.ADMIN, Role.AUDITOR, Role.SUPERVISOR)


def _routes(app) -> list:  # noqa: ANN001
    """Every console route with its full path, methods and dependant.

    FastAPI 0.165 keeps an included router as one ``_IncludedRouter`` entry in ``app.routes``;
    its ``effective_route_contexts()`` are the routes as served (path with prefixes).
    """
    found: list = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "effective_route_contexts"):
            found.extend(ctx for ctx in route.effective_route_contexts() if ctx.methods)
    declared = sum(len(router.routes) for router in ROUTERS)
    assert len(found) == declared, f"walked {len(found)} routes, the routers declare {declared}"
    return found


def _requirements(route) -> list[Requirement]:  # noqa: ANN001
    found: list[Requirement] = []

    def walk(dependant) -> None:  # noqa: ANN001
        for dep in dependant.dependencies:
            if isinstance(dep.call, Requirement):
                found.append(dep.call)
            walk(dep)

    walk(route.dependant)
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_has_exactly_one_requirement_or_is_public(console_app) -> None:
    for route in _routes(console_app):
        needs = _requirements(route)
        if route.path in PUBLIC or route.path.startswith("/login"):
            assert not needs, route.path
        else:
            assert len(needs) == 1, f"{route.path} has {len(needs)} require() dependencies"


def _refusals(app) -> list[tuple[str, str, Role]]:
    cases = []
    for route in _routes(app):
        needs = _requirements(route)
        if not needs:
            continue
        for role in CONSOLE_ROLES:
            if needs[0].permission not in ROLE_PERMISSIONS[role]:
                cases.extend((method, route.path, role) for method in sorted(route.methods))
    return cases


def test_every_role_is_refused_every_route_it_lacks(installation, console_app, console_as) -> None:
    clients = {role: console_as(role) for role in CONSOLE_ROLES}
    cases = _refusals(console_app)
    assert cases, "no route is refused to any role"
    for method, path, role in cases:
        client = clients[role]
        answer = client.request(method, _concrete(path), data={"csrf_token": client.csrf}, follow_redirects=False)
        assert answer.status_code == 403, f"{role} {method} {path} -> {answer.status_code}"


def test_an_agent_user_has_no_console_session(installation) -> None:
    with pytest.raises(ValueError, match="only admins"):
        log_in(installation, Role.AGENT)


def test_without_a_session_pages_redirect_to_login(console_app, anonymous) -> None:
    for route in _routes(console_app):
        if not _requirements(route) or "GET" not in route.methods:
            continue
        answer = anonymous.get(_concrete(route.path), follow_redirects=False)
        assert answer.status_code == 303, route.path
        assert answer.headers["location"].startswith("/login?next=")
    htmx = anonymous.post("/logout", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")


def test_a_form_post_without_the_csrf_token_is_refused(installation, console_as) -> None:
    client = console_as(Role.ADMIN)
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    wrong = client.post("/logout", data={"csrf_token": "x" * 43}, follow_redirects=False)
    assert wrong.status_code == 403
    with session_scope(installation.engine) as session:
        assert all(row.ended_at is None for row in session.exec(select(ConsoleSession)))
    done = client.post_form("/logout")
    assert done.status_code == 303 and done.headers["location"] == "/login"
    with session_scope(installation.engine) as session:
        assert session.exec(select(ConsoleSession)).one().end_reason == "logout"


def test_logout_everywhere_ends_every_browser(installation, console_app, console_as) -> None:
    first = console_as(Role.AUDITOR, login="aud")
    with session_scope(installation.engine) as session:
        from owner_server.identity.console_sessions import start_console_session
        from owner_server.models import ConsoleStage, User

        user = session.exec(select(User).where(User.login == "aud")).one()
        start_console_session(session, user=user, address="10.0.0.2", stage=ConsoleStage.ACTIVE)
    assert first.post_form("/logout-everywhere").status_code == 303
    with session_scope(installation.engine) as session:
        reasons = {row.end_reason for row in session.exec(select(ConsoleSession))}
    assert reasons == {"logout_everywhere"}


def test_security_headers_on_pages_errors_and_redirects(console_as, anonymous) -> None:
    client = console_as(Role.ADMIN)
    for answer in (client.get("/no-such-page"), anonymous.get("/lang/pl", follow_redirects=False)):
        assert answer.headers["content-security-policy"] == CSP
        assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"
        assert "server" not in answer.headers
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "<script>" not in page.text and " style=" not in page.text and "onclick" not in page.text


def test_session_cookie_is_host_only_secure_httponly_strict() -> None:
    from starlette.responses import Response

    from owner_server.console.auth import set_session_cookie

    response = Response()
    set_session_cookie(response, "token")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=token;")
    for part in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert part in cookie
    assert "Domain" not in cookie and "Max-Age" not in cookie  # the server times it out, not the browser


def test_language_switch_goes_back_only_to_this_site(anonymous) -> None:
    answer = anonymous.get("/lang/pl", params={"next": "//evil.example/x"}, follow_redirects=False)
    assert answer.headers["location"] == "/"
    assert "custos-lang=pl" in answer.headers["set-cookie"]


TEXT = re.compile(r"""(?<![\w.])_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def test_every_console_text_has_its_polish() -> None:
    root = Path(str(resources.files("owner_server.console")))
    texts: set[str] = {item.label for item in NAV} | {role.value for role in CONSOLE_ROLES}
    for path in [*root.rglob("*.html"), *(p for p in root.rglob("*.py") if p.name != "i18n.py")]:
        for double, single in TEXT.findall(path.read_text(encoding="utf-8")):
            texts.add(double or single)
    texts.discard("")
    missing = sorted(texts - set(catalog("pl")))
    assert not missing, f"no Polish for: {missing}"


def test_vendored_libraries_match_their_checksums() -> None:
    vendor = Path(str(resources.files("owner_server.console"))) / "static" / "vendor"
    for line in (vendor / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name


def test_no_polish_text_is_given_twice() -> None:
    import tomllib

    folder = Path(str(resources.files("owner_server.console"))) / "i18n" / "pl"
    seen: dict[str, str] = {}
    for part in sorted(folder.glob("*.toml")):
        for key in tomllib.loads(part.read_text(encoding="utf-8")):
            assert key not in seen, f"{key!r} is in {seen.get(key)} and {part.name}"
            seen[key] = part.name
