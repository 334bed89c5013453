"""The console's guards as a real browser meets them: its own listener, TLS, CSP, CSRF, the cookie, languages.

Debian's Chromium (Playwright) against a real ``custos-server serve``; the
pages used are the skeleton's own (error pages, the header's logout form and
language switch), so these hold whatever pages are added later.
"""

from __future__ import annotations

import pytest

from owner_server.console.auth import COOKIE
from owner_server.models import Role
from tests.support.browser import WRONG_NAME

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Builds and submits a form in the page (as a script on the page could), without a CSRF token.
POST_WITHOUT_TOKEN = """(action) => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = action;
  const field = document.createElement("input");
  field.name = "note";
  field.value = "x";
  form.append(field);
  document.body.append(form);
  form.submit();
}"""


def _open(page, url: str, status: int):
    response = page.goto(url)
    assert response is not None
    assert response.status == status, (url, response.status)
    return response


def test_console_and_agent_api_are_separate_listeners(console_server, page, watch):
    # Console paths are not on the agent API's port...
    for path in ("/lang/en?next=/", "/static/console.js", "/static/vendor/htmx-2.0.11.min.js", "/login", "/logout"):
        response = _open(page, console_server.api_origin + path, 404)
        assert "Custos console" not in page.content() and response.headers["content-type"].startswith(
            "application/json"
        )
    # ...while the agent API's paths exist there (POST-only: a GET is refused, not unknown) and never
    # on the console's port.
    response = page.goto(console_server.api_origin + "/api/v1/agent/next")
    assert response is not None and response.status not in (200, 404), response.status
    for path in ("/api/v1/agent/next", "/api/v1/agent/login", "/api/v1/agent/calls/dial"):
        _open(page, console_server.origin + path, 404)
        assert page.locator("main").inner_text().strip().endswith("There is no such page.")
    _open(page, console_server.origin + "/static/console.js", 200)
    watch.assert_clean()


def test_tls_is_verified_not_ignored(console_server, page):
    # The installation's CA is trusted, so the console's own name works...
    _open(page, console_server.origin + "/nothing-here", 404)
    # ...but the same server under a name its certificate does not hold is refused.
    port = console_server.origin.rsplit(":", 1)[1]
    with pytest.raises(Exception, match="ERR_CERT_COMMON_NAME_INVALID"):
        page.goto(f"https://{WRONG_NAME}:{port}/nothing-here")


def test_injected_inline_script_handler_and_style_do_not_run(console_server, page, watch):
    _open(page, console_server.origin + "/nothing-here", 404)
    page.wait_for_function("() => window.htmx !== undefined")
    watch.assert_clean()
    page.evaluate(
        """() => {
      const script = document.createElement("script");
      script.textContent = "window.__injected = 'script ran';";
      document.body.append(script);
      const button = document.createElement("button");
      button.id = "injected";
      button.setAttribute("onclick", "window.__injected = 'handler ran'");
      button.textContent = "x";
      document.body.append(button);
      const style = document.createElement("style");
      style.textContent = "body { background-color: rgb(1, 2, 3); }";
      document.head.append(style);
    }"""
    )
    page.click("#injected")
    page.wait_for_function("() => document.body !== null")
    assert page.evaluate("() => window.__injected === undefined")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") != "rgb(1, 2, 3)"
    directives = {v["directive"] for v in watch.csp_violations}
    assert {"script-src-elem", "script-src-attr", "style-src-elem"} <= directives, watch.csp_violations
    assert all(v["page"].startswith(console_server.origin) for v in watch.csp_violations)


def test_own_pages_load_htmx_and_show_no_csp_violation(console_server, page, watch, log_in):
    me = log_in(Role.ADMIN)
    _open(page, console_server.origin + "/nothing-here", 404)  # an error page, logged in
    assert page.evaluate("() => window.htmx.version") == "2.0.11"
    assert page.evaluate("() => typeof window.custosDrawCharts") == "function"  # console.js ran
    assert page.evaluate("() => document.querySelector('meta[name=csrf-token]') === null")  # no require ran
    page.click("text=PL")  # the language switch
    page.wait_for_url("**/nothing-here")
    page.click("text=EN")
    page.wait_for_url("**/nothing-here")
    with page.expect_navigation():
        page.evaluate(POST_WITHOUT_TOKEN, "/logout")  # the 403 page, with the user's header
    assert me.login in page.locator("header").inner_text()
    with page.expect_navigation():
        page.click("form[action='/logout'] button")
    watch.assert_clean()


def test_post_without_token_is_refused_and_logout_form_works(console_server, page, context, log_in):
    me = log_in(Role.AUDITOR)
    _open(page, console_server.origin + "/nothing-here", 404)
    with page.expect_navigation() as refused:
        page.evaluate(POST_WITHOUT_TOKEN, "/logout-everywhere")
    assert refused.value is not None and refused.value.status == 403
    assert "did not come from this console" in page.locator("main").inner_text()
    # Refused, nothing changed: still logged in, and the 403 page's own logout form carries the token.
    assert page.locator("form[action='/logout'] input[name=csrf_token]").get_attribute("value") == me.csrf
    with page.expect_navigation():
        page.click("form[action='/logout'] button")
    assert page.url == console_server.origin + "/login"
    assert not [c for c in context.cookies() if c["name"] == COOKIE]
    # The session is over on the server too: the same tokenless post now asks for a login.
    _open(page, console_server.origin + "/nothing-here", 404)
    with page.expect_navigation():
        page.evaluate(POST_WITHOUT_TOKEN, "/logout")
    assert page.url.startswith(console_server.origin + "/login?next=")


def test_cross_site_form_does_not_carry_the_session(console_server, page, context, log_in):
    me = log_in(Role.ADMIN)
    # Another site (localhost, same port: a different site to the browser) posts a form with the
    # right CSRF token to the console: SameSite=Strict keeps the cookie home, so it is not logged in.
    port = console_server.origin.rsplit(":", 1)[1]
    attacker = f"https://localhost:{port}/attack"
    form = (
        f'<form method="post" action="{console_server.origin}/logout-everywhere">'
        f'<input name="csrf_token" value="{me.csrf}"><button id="go">go</button></form>'
    )
    context.route(attacker, lambda route: route.fulfill(status=200, body=form, content_type="text/html"))
    page.goto(attacker)
    with page.expect_navigation():
        page.click("#go")
    assert page.url == console_server.origin + "/login?next=/logout-everywhere"  # no session arrived
    # The session survived: back on the console's own page the user is still logged in.
    with page.expect_navigation():
        page.evaluate(POST_WITHOUT_TOKEN, "/logout")
    assert me.login in page.locator("header").inner_text()


def test_session_cookie_as_the_browser_holds_it(console_server, page, context, log_in):
    me = log_in(Role.SUPERVISOR, outsourcer="BPO One")
    [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
    assert cookie["value"] == me.token
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/" and cookie["domain"] == "127.0.0.1"  # host-only (__Host- prefix)
    _open(page, console_server.origin + "/nothing-here", 404)
    assert COOKIE not in page.evaluate("() => document.cookie")  # HttpOnly: no script reads it
    # The agent API's port is another origin of the same host: cookies ignore ports, but the agent
    # API never reads this cookie (its own auth is the device-bound bearer token).


def test_language_switch_shows_polish(console_server, page, watch, log_in):
    log_in(Role.ADMIN)
    _open(page, console_server.origin + "/nothing-here", 404)
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.click("header .langs >> text=PL")
    assert page.url == console_server.origin + "/nothing-here"
    assert page.locator("html").get_attribute("lang") == "pl"
    assert "Nie ma takiej strony." in page.locator("main").inner_text()
    with page.expect_navigation():
        page.evaluate(POST_WITHOUT_TOKEN, "/logout")
    assert "Wyloguj" in page.locator("header").inner_text()
    assert "Formularz wygasł" in page.locator("main").inner_text()
    _open(page, console_server.origin + "/nothing-here", 404)
    with page.expect_navigation():
        page.click("header .langs >> text=EN")
    assert "There is no such page." in page.locator("main").inner_text()
    watch.assert_clean()


def test_a_missing_browser_skips_here_and_fails_in_ci(monkeypatch, tmp_path):
    from tests.support import browser as support

    monkeypatch.setattr(support, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Debian package chromium"):
        support.require_browser()
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="cannot run in CI"):
        support.require_browser()
