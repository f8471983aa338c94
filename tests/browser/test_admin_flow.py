"""The whole admin in Chromium, against gunicorn with a real worker delivering to a receiver."""
import csv
import json
import re
import time

from playwright.sync_api import expect

from app.services import docs
from tests.receiver import Reply

from .conftest import accessibility_problems, log_in

EVENT_DATA = {"project": {"id": "proj-browser", "name": "Browser Project"}, "scan_id": "scan-1"}


def _verifier():
    """The Python verification code of the docs page, ready to call."""
    namespace = {}
    exec(compile(docs.snippet_source("verify.py"), "verify.py", "exec"), namespace)
    return namespace


def _row(page, name):
    return page.locator("#webhooks tbody tr", has_text=name)


def _status(page, name):
    return _row(page, name).locator(".badge[class*='status-']")


def _reload_until_status(page, name, text, timeout=15):
    """The list is server-rendered: reload until the worker's outcome shows in the badge."""
    deadline = time.monotonic() + timeout
    while _status(page, name).inner_text() != text:
        assert time.monotonic() < deadline, f"status stayed {_status(page, name).inner_text()}"
        time.sleep(0.3)
        page.reload()


def _add_slack_endpoint(page, receiver, screenshot):
    page.get_by_role("link", name="+ Add endpoint").first.click()
    expect(page.get_by_role("heading", name="Add endpoint")).to_be_visible()
    page.wait_for_load_state()  # the page's script fills the template when the type changes
    page.get_by_label("Name", exact=True).fill("Slack #appsec")
    page.get_by_label("Description (optional)", exact=True).fill("Scan results for #appsec")
    page.get_by_label("URL", exact=True).fill(f"{receiver.url}/slack")
    page.get_by_label("Type", exact=True).select_option("slack")
    # Choosing Slack fills in a body template Slack accepts.
    template = page.get_by_label("Custom body template (optional)", exact=True)
    expect(template).to_have_value(re.compile('"text"'))
    page.locator("#event-scan\\.completed").check()
    page.locator("#event-issue\\.status_changed").check()
    screenshot(page, "endpoint-add")
    page.get_by_role("button", name="Create endpoint").click()


def _copy_secret(page, context, screenshot):
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    secret = page.get_by_label("Signing secret", exact=True).input_value()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.wait_for_load_state()  # the copy button works once the page's script has run
    copy = page.get_by_role("button", name="Copy")
    copy.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert accessibility_problems(page) == []
    screenshot(page, "endpoint-secret")
    page.get_by_role("link", name=re.compile("back to Webhooks")).click()
    return secret


def test_admin_end_to_end(page, context, live_server, receiver, screenshot):
    log_in(page)
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()

    _add_slack_endpoint(page, receiver, screenshot)
    secret = _copy_secret(page, context, screenshot)
    expect(_status(page, "Slack #appsec")).to_have_text("Pending")
    verifier = _verifier()

    # Test Webhook: the sample goes out now and the page shows what the receiver answered.
    receiver.queue(Reply(200, b'{"received": true}'))
    _row(page, "Slack #appsec").get_by_role("link", name="Test").click()
    page.get_by_label("Event type", exact=True).select_option("scan.completed")
    page.get_by_role("button", name="Send test").click()
    result = page.locator(".test-result")
    expect(result.get_by_role("heading", level=2)).to_contain_text("Delivered")
    expect(result.locator("[data-field=status]")).to_have_text("200")
    expect(result.locator("[data-field=response]")).to_contain_text('{"received": true}')
    screenshot(page, "test-webhook")
    tested = receiver.wait_for(1)[0]
    assert tested.headers["X-Hookline-Event"] == "scan.completed"
    assert verifier["verify_standard_webhook"](tested.body, tested.headers, secret)
    page.get_by_role("link", name="← Slack #appsec").click()
    expect(page.locator(".page-header .badge")).to_have_text("Healthy")
    page.get_by_role("link", name="← Webhooks").click()
    expect(_status(page, "Slack #appsec")).to_have_text("Healthy")

    # An event of the platform reaches the receiver through the worker, signed and Slack-shaped.
    live_server.cli("emit", "--org", live_server.org_id, "scan.completed", json.dumps(EVENT_DATA))
    delivered = receiver.wait_for(2, timeout=20)[1]
    assert json.loads(delivered.body)["text"].startswith("Hookline: scan.completed (Browser")
    assert verifier["verify_standard_webhook"](delivered.body, delivered.headers, secret)
    assert verifier["verify_hookline_signature"](delivered.body, delivered.headers, secret)
    assert not verifier["verify_hookline_signature"](
        delivered.body + b" ", delivered.headers, secret)
    page.reload()
    screenshot(page, "webhooks-list")

    # ⟳ Deliveries: the attempt opens on its request and response.
    _row(page, "Slack #appsec").get_by_role("link", name=re.compile("Deliveries")).click()
    expect(page.get_by_role("heading", name=re.compile("Deliveries"))).to_be_visible()
    attempt = page.locator("details", has_text="scan.completed").first
    expect(attempt).to_contain_text("delivered")
    expect(attempt).to_contain_text("HTTP 200")
    attempt.locator("summary").click()
    expect(attempt.get_by_role("heading", name="Request")).to_be_visible()
    expect(attempt.locator("pre").first).to_contain_text('"text": "Hookline: scan.completed')
    expect(attempt.get_by_role("heading", name=re.compile("Response · 200"))).to_be_visible()
    screenshot(page, "deliveries")

    # History: a failing delivery next to the good one, then filter and export.
    receiver.queue(500)
    live_server.cli("emit", "--org", live_server.org_id, "issue.status_changed",
                    json.dumps({**EVENT_DATA, "issue_id": "issue-1", "status": "fixed",
                                "previous_status": "open"}))
    receiver.wait_for(3, timeout=20)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="Delivery history")).to_be_visible()
    page.get_by_label("Webhook", exact=True).select_option(label="Slack #appsec")
    page.get_by_role("button", name="Filter").click()
    table = page.locator("table tbody")
    expect(table.locator("tr")).to_have_count(3)
    page.get_by_label("Event type", exact=True).select_option("issue.status_changed")
    page.get_by_role("button", name="Filter").click()
    expect(table.locator("tr")).to_have_count(1)
    expect(table.locator("tr").first).to_contain_text("issue.status_changed")
    expect(table.locator("tr").first).to_contain_text("500")
    screenshot(page, "history")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8", newline="") as exported:
        rows = list(csv.DictReader(exported))
    assert [row_["event_type"] for row_ in rows] == ["issue.status_changed"]

    # Statistics: the figures and the 14-day chart.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Statistics").click()
    heading = page.get_by_role("heading", name=re.compile("Slack #appsec"))
    section = page.locator("section", has=heading)
    expect(section.locator("[data-stat=total]")).to_have_text("3")
    expect(section.locator("[data-stat=failed]")).to_have_text("1")
    expect(section.locator("[data-stat=consecutiveFailures]")).to_have_text("1")
    expect(section.get_by_role("img", name=re.compile("calls per day"))).to_be_visible()
    screenshot(page, "stats")

    # Pause: a new event is held with the failed delivery's retry; resume sends both at once.
    page.goto("/organization/webhooks")
    _row(page, "Slack #appsec").get_by_role("link", name="Edit").click()
    page.get_by_label("Active", exact=True).uncheck()
    page.get_by_role("button", name="Save endpoint").click()
    expect(_status(page, "Slack #appsec")).to_have_text("Paused")
    live_server.cli("emit", "--org", live_server.org_id, "scan.completed", json.dumps(EVENT_DATA))
    before = len(receiver.requests)
    _row(page, "Slack #appsec").get_by_role("link", name="Edit").click()
    expect(page.locator("#held")).to_contain_text("2 deliveries are waiting")
    assert len(receiver.requests) == before
    page.get_by_label("Active", exact=True).check()
    page.get_by_role("button", name="Save endpoint").click()
    resent = receiver.wait_for(before + 2, timeout=20)[before:]
    assert sorted(r.headers["X-Hookline-Event"] for r in resent) == [
        "issue.status_changed", "scan.completed"]
    _reload_until_status(page, "Slack #appsec", "Healthy")

    # Rotate, after a confirmation page: a new secret, shown once, and the old one still
    # verifies during the grace period.
    _row(page, "Slack #appsec").get_by_role("link", name="Edit").click()
    page.get_by_role("link", name="Rotate secret…").click()
    expect(page.get_by_role("heading", name=re.compile("Rotate the signing secret"))
           ).to_be_visible()
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_role("heading", name=re.compile("New signing secret"))).to_be_visible()
    new_secret = page.get_by_label("Signing secret", exact=True).input_value()
    assert new_secret.startswith("whsec_") and new_secret != secret
    page.get_by_role("link", name=re.compile("back to Webhooks")).click()
    expect(_row(page, "Slack #appsec")).to_contain_text("Rotation in progress")

    # Delete, after confirming in the dialog (opened by the page's script, once it has run).
    page.wait_for_load_state()
    _row(page, "Slack #appsec").get_by_role("link", name="Delete").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Delete Slack #appsec?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(_row(page, "Slack #appsec")).to_be_visible()
    _row(page, "Slack #appsec").get_by_role("link", name="Delete").click()
    page.locator("dialog[open]").get_by_role("button", name="Delete endpoint").click()
    expect(page.get_by_role("alert")).to_contain_text("Deleted “Slack #appsec”")
    expect(_row(page, "Slack #appsec")).to_have_count(0)

    # Log out: the pages are closed again.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Hookline")).to_be_visible()
    page.goto("/organization/webhooks")
    expect(page).to_have_url(re.compile("/login"))
