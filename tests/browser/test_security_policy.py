"""Every page works under the Content-Security-Policy (no inline script or style), logs no
console error (a blocked inline style or script would log one), and no page can be framed:
before, there was no policy and the one-button confirm pages loaded inside any site."""
import re

import pytest
import requests
from playwright.sync_api import expect

from .conftest import log_in
from .test_every_page import _pages, seeded  # noqa: F401  (a module fixture, reused)

POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
          "form-action 'self'; frame-ancestors 'none'")


def _check_headers(response, path):
    headers = response.headers
    assert headers.get("content-security-policy") == POLICY, path
    assert headers.get("x-content-type-options") == "nosniff", path
    assert headers.get("referrer-policy") == "same-origin", path
    assert headers.get("x-frame-options") == "DENY", path


def test_every_page_is_served_under_the_policy_and_logs_no_error(page, seeded):  # noqa: F811
    _check_headers(page.goto("/login"), "/login")
    log_in(page)
    for path in [*_pages(seeded).values(), "/account"]:
        response = page.goto(path)
        assert response.status == 200, path
        _check_headers(response, path)
        # The stylesheets applied (no inline style was needed): Bootstrap sets the font.
        font = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "system-ui" in font or "Segoe UI" in font, path


def test_the_scripts_still_work_under_the_policy(page, seeded):  # noqa: F811
    log_in(page)
    # webhooks.js: the type select fills in the matching body template.
    page.goto("/organization/webhooks/new")
    page.get_by_label("Type", exact=True).select_option("slack")
    expect(page.get_by_label("Custom body template (optional)")).to_have_value(
        re.compile('"text": "Hookline: {{event_type}}'))
    # webhooks.js: Delete opens its dialog instead of the confirmation page.
    page.goto("/organization/webhooks")
    page.wait_for_load_state()
    page.locator(f'a[href="/organization/webhooks/{seeded["endpoint"]}/delete"]').click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Delete Every page?")
    dialog.get_by_role("button", name="Cancel").click()
    # hookline.js: a button with data-confirm asks first.
    page.goto("/account")
    asked = []
    page.on("dialog", lambda box: (asked.append(box.message), box.dismiss()))
    page.get_by_role("button", name="Sign out everyone").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    assert asked and asked[0].startswith("Sign out every user of")


@pytest.mark.parametrize("path", ["/login", "/organization/webhooks/{endpoint}/delete"])
def test_no_page_can_be_framed(page, page_watch, live_server, seeded, receiver,  # noqa: F811
                               path):
    """Another site (another port of 127.0.0.1: another origin) frames a Hookline page."""
    page_watch.allow("directive: \"frame-ancestors 'none'\". The request has been blocked")
    target = live_server.url + path.format(endpoint=seeded["endpoint"])
    receiver.answer(200, f'<!doctype html><title>Elsewhere</title><iframe src="{target}" '
                         'title="framed"></iframe>'.encode(),
                    headers={"Content-Type": "text/html"})
    page.goto(f"{receiver.url}/framing")
    page.wait_for_timeout(1500)
    framed = page.frames[1]
    # Blocked, the frame holds the browser's error page instead of Hookline's.
    assert framed.url.startswith("chrome-error:") and "Hookline" not in framed.content()


def test_api_and_static_responses_carry_the_headers_too(live_server):
    for path in ("/api/sch/org/openapi.json", "/api/sch/org/webhooks", "/static/hookline.css",
                 "/healthz", "/no-such-page"):
        _check_headers(requests.get(live_server.url + path, timeout=10), path)
