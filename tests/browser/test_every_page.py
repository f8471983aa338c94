"""Every admin page: on a phone and a laptop without sideways scrolling, usable without
JavaScript, accessible basics, nothing loaded from outside; a screenshot of each at both widths."""
import json
import re

import pytest
import requests
from playwright.sync_api import expect

from .conftest import VIEWER_EMAIL, accessibility_problems, log_in

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
LONG_WORD = "Integration" * 18  # 198 characters without a space
# Where the page's width is measured: the document and every element that could push it.
WIDER_THAN_VIEWPORT = """() => {
  const width = document.documentElement.clientWidth;
  const culprits = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && !el.closest(".table-box, .chart-scroll, .pre-scroll")
        && getComputedStyle(el).position !== "fixed") {
      const name = `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`;
      culprits.push(`${name} right=${Math.round(box.right)}`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, culprits: culprits.slice(0, 5)};
}"""


@pytest.fixture(scope="module")
def seeded(live_server):
    """Endpoints created through the API (one with names and text long enough to stretch a
    page), a delivered and a failed delivery, and a token with a long name."""
    from tests.receiver import Receiver

    receiver = Receiver().start()
    token = live_server.cli("create-token", "--org", live_server.org_id,
                            "--name", "browser").strip().splitlines()[-1]
    live_server.cli("create-token", "--org", live_server.org_id, "--name", LONG_WORD)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    base = f"{live_server.url}/api/sch/org"
    try:
        created = api.post(f"{base}/webhooks", json={
            "name": "Every page", "url": f"{receiver.url}/hook", "type": "other",
            "events": ["scan.completed", "scan.failed"],
            "headers": [{"name": "X-Api-Key", "value": "a-header-value-1234"}],
        })
        assert created.status_code == 201, created.text
        endpoint_id = created.json()["id"]
        long = api.post(f"{base}/webhooks", json={
            "name": LONG_WORD, "url": f"{receiver.url}/{LONG_WORD}/{'x' * 300}",
            "description": ("A description without a break " + LONG_WORD * 2)[:500],
            "type": "slack", "events": ["issue.status_changed"], "statuses": ["fixed"],
        })
        assert long.status_code == 201, long.text
        receiver.queue(200, 503)
        for event_type in ("scan.completed", "scan.failed"):
            emitted = api.post(f"{base}/events", json={"eventType": event_type,
                                                    "data": {"scan_id": "s-1"}})
            assert emitted.status_code == 202, emitted.text
        receiver.wait_for(2, timeout=30)
        deliveries = api.get(f"{base}/webhooks/{endpoint_id}/deliveries").json()["data"]
        yield {"endpoint": endpoint_id, "long": long.json()["id"],
               "delivery": deliveries[0]["id"], "receiver": receiver}
    finally:
        api.close()
        receiver.stop()


def _pages(seeded):
    endpoint, delivery = seeded["endpoint"], seeded["delivery"]
    return {
        "webhooks": "/organization/webhooks",
        "endpoint": f"/organization/webhooks/{endpoint}",
        "endpoint-long": f"/organization/webhooks/{seeded['long']}",
        "endpoint-new": "/organization/webhooks/new",
        "endpoint-edit": f"/organization/webhooks/{endpoint}/edit",
        "endpoint-delete": f"/organization/webhooks/{endpoint}/delete",
        "endpoint-rotate": f"/organization/webhooks/{endpoint}/rotate",
        "endpoint-secret": f"/organization/webhooks/{endpoint}/secret",
        "endpoint-deliveries": f"/organization/webhooks/{endpoint}/deliveries",
        "endpoint-test": f"/organization/webhooks/{endpoint}/test",
        "history": "/organization/webhooks/history",
        "history-filtered": f"/organization/webhooks/history?status=failed&webhook={endpoint}",
        "delivery": f"/organization/webhooks/history/{delivery}",
        "retry-all": "/organization/webhooks/history/retry-all?status=failed",
        "stats": "/organization/webhooks/stats",
        "stats-24h": "/organization/webhooks/stats?range=24h",
        "audit": "/organization/audit",
        "tokens": "/organization/tokens",
        "docs": "/docs/webhooks",
    }


def _fits(page, path):
    measured = page.evaluate(WIDER_THAN_VIEWPORT)
    assert measured["scrollWidth"] <= measured["width"], (
        f"{path} scrolls sideways at {measured['width']} px: {measured}")


@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["390", "1280"])
def test_every_page_fits_the_screen_with_labels_names_and_no_outside_requests(
        page, seeded, screenshot, size):
    page.set_viewport_size(size)
    width = size["width"]
    page.goto("/login")
    assert accessibility_problems(page) == []
    _fits(page, "/login")
    screenshot(page, f"page-login-{width}")
    log_in(page)
    for name, path in _pages(seeded).items():
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"
        assert accessibility_problems(page) == [], path
        _fits(page, path)
        screenshot(page, f"page-{name}-{width}")


def test_the_menu_opens_on_a_phone_without_javascript(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  viewport=PHONE)
    page = context.new_page()
    try:
        log_in(page)
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="History")).to_be_hidden()
        page.get_by_text("Menu", exact=True).click()
        nav.get_by_role("link", name="History").click()
        expect(page.get_by_role("heading", name="Delivery history")).to_be_visible()
        expect(nav.get_by_role("link", name="History")).to_be_hidden()
    finally:
        context.close()


def test_the_skip_link_leads_to_the_content(page, seeded):
    log_in(page)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#main$"))


def test_bad_input_is_explained_next_to_each_field(page, page_watch, seeded, screenshot):
    page_watch.allow("status of 422")  # the form answers 422 Unprocessable with its errors
    log_in(page)
    page.goto("/organization/webhooks/new")
    page.get_by_label("URL", exact=True).fill("ftp://example.com/hook")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    for label in ("Name", "URL"):
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_class(re.compile("is-invalid"))
        expect(field.locator("xpath=following-sibling::div[contains(@class, 'invalid-feedback')]")
               ).not_to_be_empty()
    expect(page.locator("fieldset", has_text="Events").locator(".invalid-feedback")).to_be_visible()
    expect(page.get_by_label("URL", exact=True)).to_have_value("ftp://example.com/hook")
    # The first field to fix has the focus.
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    assert accessibility_problems(page) == []
    screenshot(page, "endpoint-add-errors")


def test_every_page_works_without_javascript(no_js_page, seeded):
    page = no_js_page
    log_in(page)
    for path in _pages(seeded).values():
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status} without JavaScript"
        expect(page.locator("h1")).to_be_visible()
        # Copy buttons need the script: without it there are none to press.
        expect(page.locator("[data-copy]:visible")).to_have_count(0)


def test_endpoint_lifecycle_without_javascript(no_js_page, seeded):
    """Add (with the type's template), test, pause from the list, delete with confirmation:
    plain forms only."""
    page = no_js_page
    log_in(page)
    page.get_by_role("link", name="+ Add endpoint").first.click()
    page.get_by_label("Name", exact=True).fill("No script")
    page.get_by_label("URL", exact=True).fill(f"{seeded['receiver'].url}/noscript")
    page.get_by_label("Type", exact=True).select_option("pagerduty")
    page.get_by_role("button", name="Apply template for type").click()
    template = page.get_by_label("Custom body template (optional)", exact=True).input_value()
    assert json.loads(template.replace("{{payload}}", "{}"))["event_action"] == "trigger"
    page.locator("#event-scan\\.failed").check()
    page.get_by_role("button", name="Create endpoint").click()
    secret = page.get_by_label("Signing secret", exact=True).input_value()
    assert secret.startswith("whsec_")
    page.get_by_role("link", name=re.compile("back to Webhooks")).click()

    row = page.locator("#webhooks tbody tr", has_text="No script")
    row.get_by_role("link", name="Test").click()
    page.get_by_role("button", name="Send test").click()
    expect(page.locator(".test-result h2")).to_contain_text("Delivered scan.failed")
    page.get_by_role("link", name="← No script").click()
    page.get_by_role("link", name="← Webhooks").click()

    # The row's Active switch is a form of its own.
    row.get_by_role("switch", name="Active").click()
    expect(page.get_by_role("alert")).to_contain_text("“No script”: Paused")
    expect(row.locator(".badge", has_text="Paused")).to_be_visible()
    expect(row.get_by_role("switch", name="Active")).to_have_attribute("aria-checked", "false")
    row.get_by_role("switch", name="Active").click()
    expect(row.locator(".badge", has_text="Healthy")).to_be_visible()

    # Without a dialog, Delete opens a confirmation page.
    row.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete No script?")).to_be_visible()
    page.get_by_role("button", name="Delete endpoint").click()
    expect(page.get_by_role("alert")).to_contain_text("Deleted “No script”")
    expect(row).to_have_count(0)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Hookline")).to_be_visible()


def test_viewer_sees_lists_but_no_actions(page, page_watch, seeded):
    log_in(page, VIEWER_EMAIL)
    row = page.locator("#webhooks tbody tr", has_text="Every page")
    expect(row).to_be_visible()
    expect(page.get_by_role("link", name="+ Add endpoint")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^Edit "))).to_have_count(0)
    expect(page.get_by_role("switch")).to_have_count(0)
    # The recent attempts are theirs to read.
    row.get_by_role("link", name="⟳ Deliveries").click()
    expect(page.get_by_role("heading", name="Deliveries · Every page")).to_be_visible()
    page_watch.allow("status of 403")
    response = page.goto(f"/organization/webhooks/{seeded['endpoint']}/edit")
    assert response.status == 403
