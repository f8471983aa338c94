"""Every admin page: usable without JavaScript, accessible basics, nothing loaded from outside."""
import json
import re

import pytest
import requests
from playwright.sync_api import expect

from .conftest import VIEWER_EMAIL, accessibility_problems, log_in


@pytest.fixture(scope="module")
def seeded(live_server):
    """An endpoint created through the API, one delivered and one failed delivery."""
    from tests.receiver import Receiver

    receiver = Receiver().start()
    token = live_server.cli("create-token", "--org", live_server.org_id,
                            "--name", "browser").strip().splitlines()[-1]
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    base = f"{live_server.url}/api/sch/org"
    try:
        created = api.post(f"{base}/webhooks", json={
            "name": "Every page", "url": f"{receiver.url}/hook", "type": "other",
            "events": ["scan.completed", "scan.failed"],
        })
        assert created.status_code == 201, created.text
        endpoint_id = created.json()["id"]
        receiver.queue(200, 503)
        for event_type in ("scan.completed", "scan.failed"):
            emitted = api.post(f"{base}/events", json={"eventType": event_type,
                                                    "data": {"scan_id": "s-1"}})
            assert emitted.status_code == 202, emitted.text
        receiver.wait_for(2, timeout=30)
        deliveries = api.get(f"{base}/webhooks/{endpoint_id}/deliveries").json()["data"]
        yield {"endpoint": endpoint_id, "delivery": deliveries[0]["id"], "receiver": receiver}
    finally:
        api.close()
        receiver.stop()


def _pages(seeded):
    endpoint, delivery = seeded["endpoint"], seeded["delivery"]
    return {
        "webhooks": "/organization/webhooks",
        "endpoint-new": "/organization/webhooks/new",
        "endpoint-edit": f"/organization/webhooks/{endpoint}/edit",
        "endpoint-delete": f"/organization/webhooks/{endpoint}/delete",
        "endpoint-deliveries": f"/organization/webhooks/{endpoint}/deliveries",
        "endpoint-test": f"/organization/webhooks/{endpoint}/test",
        "history": "/organization/webhooks/history",
        "history-filtered": f"/organization/webhooks/history?status=failed&webhook={endpoint}",
        "delivery": f"/organization/webhooks/history/{delivery}",
        "retry-all": "/organization/webhooks/history/retry-all?status=failed",
        "stats": "/organization/webhooks/stats",
        "audit": "/organization/audit",
        "tokens": "/organization/tokens",
        "docs": "/docs/webhooks",
    }


def test_every_page_loads_with_labels_names_and_no_outside_requests(page, seeded, screenshot):
    page.goto("/login")
    assert accessibility_problems(page) == []
    log_in(page)
    for name, path in _pages(seeded).items():
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"
        assert accessibility_problems(page) == [], path
        screenshot(page, f"page-{name}")


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
    assert accessibility_problems(page) == []
    screenshot(page, "endpoint-add-errors")


def test_every_page_works_without_javascript(no_js_page, seeded):
    page = no_js_page
    log_in(page)
    for path in _pages(seeded).values():
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status} without JavaScript"
        expect(page.locator("h1")).to_be_visible()


def test_endpoint_lifecycle_without_javascript(no_js_page, seeded):
    """Add (with the type's template), test, pause, delete with confirmation: plain forms only."""
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
    page.get_by_role("link", name="← Webhooks").click()

    row.get_by_role("link", name="Edit").click()
    page.get_by_label("Active", exact=True).uncheck()
    page.get_by_role("button", name="Save endpoint").click()
    expect(row.locator(".badge", has_text="Paused")).to_be_visible()

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
    expect(page.locator("#webhooks tbody tr", has_text="Every page")).to_be_visible()
    expect(page.get_by_role("link", name="+ Add endpoint")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    page_watch.allow("status of 403")
    response = page.goto(f"/organization/webhooks/{seeded['endpoint']}/edit")
    assert response.status == 403
