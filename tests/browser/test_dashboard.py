"""The pages the best dashboards have, in Chromium: the endpoint overview, the delivery detail,
Enter in the endpoint form, rotate confirmation, token post/redirect/get, history search,
statistics ranges and the body template preview."""
import json
import re

import pytest
from playwright.sync_api import expect

from tests.receiver import Reply

from .conftest import log_in


@pytest.fixture(scope="module")
def receiver():
    from tests.receiver import Receiver

    server = Receiver().start()
    yield server
    server.stop()


def _add_endpoint(page, name, url, events=("scan.completed",)):
    page.goto("/organization/webhooks/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("URL", exact=True).fill(url)
    for event in events:
        page.locator(f"#event-{event.replace('.', chr(92) + '.')}").check()
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    page.get_by_role("link", name=re.compile(f"go to {re.escape(name)}")).click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    return page.url.rsplit("/", 1)[-1]


def _sample(event_type):
    """The catalog sample's data of an event type, as JSON for `flask emit`."""
    from app import catalog

    return json.dumps(catalog.get(event_type).sample)


def _row(page, name):
    return page.locator("#webhooks tbody tr", has_text=name)


def test_the_overview_has_everything_of_an_endpoint(page, context, live_server, receiver,
                                                    screenshot):
    log_in(page)
    endpoint_id = _add_endpoint(page, "Overview hook", f"{receiver.url}/overview",
                                ("scan.completed", "scan.failed"))
    expect(page.locator("#status-reason")).to_contain_text("No delivery has been attempted yet")
    expect(page.locator("[data-stat=empty]")).to_contain_text("No deliveries yet")

    receiver.queue(Reply(200, b'{"accepted": true}'), 500)
    for event_type in ("scan.completed", "scan.failed"):
        live_server.cli("emit", "--org", live_server.org_id, event_type, _sample(event_type))
    receiver.wait_for(2, timeout=20)

    # From the list, the row's name leads here.
    page.goto("/organization/webhooks")
    _row(page, "Overview hook").get_by_role("link", name="Overview hook", exact=True).click()
    expect(page).to_have_url(re.compile(f"/organization/webhooks/{endpoint_id}$"))
    expect(page.locator("#status-reason")).to_contain_text("The last call failed")
    settings = page.locator("#settings")
    for text in ("Other", "scan.completed", "scan.failed", "all projects", "the default payload",
                 "Standard: 5 attempts"):
        expect(settings).to_contain_text(text)
    expect(page.locator("[data-stat=calls]")).to_have_text("2")
    expect(page.locator("[data-stat=deliveries]")).to_have_text("2")
    expect(page.locator("[data-stat=successRate]")).to_have_text("50.0%")
    expect(page.locator("[data-stat=latency]")).to_have_text(re.compile(r"^\d+ / \d+ ms$"))
    expect(page.get_by_role("img", name=re.compile("calls per day"))).to_be_visible()
    attempts = page.locator("#recent-attempts tbody tr")
    expect(attempts).to_have_count(2)
    expect(attempts.first).to_contain_text("HTTP status")
    expect(attempts.last).to_contain_text("200 OK")
    screenshot(page, "overview")

    # The failed attempt's delivery: the request as sent, the response, the next attempt.
    attempts.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile("scan.failed → Overview hook"))
           ).to_be_visible()
    expect(page.locator("#next-attempt")).to_contain_text(
        "Attempt 2 of 5: the standard retry policy waits 1 min after attempt 1.")
    attempt = page.locator("details.attempt").last
    expect(attempt.locator("[data-field=request-url]")).to_have_text(f"{receiver.url}/overview")
    expect(attempt.locator("[data-field=remote-address]")).to_have_text("127.0.0.1")
    expect(attempt.locator("[data-field=error-class]")).to_contain_text("HTTP status")
    expect(attempt.get_by_role("heading", name="Response · 500")).to_be_visible()
    body = attempt.locator("pre[id$=-request]")
    expect(body).to_contain_text('"event_type": "scan.failed"')
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    attempt.get_by_role("button", name=re.compile("Copy request body")).click()
    copied = json.loads(page.evaluate("navigator.clipboard.readText()"))
    assert copied["event_type"] == "scan.failed"
    screenshot(page, "delivery")

    # Pause and resume, as plain forms: the paused endpoint holds the retry; resuming sends
    # it at once.
    page.get_by_role("link", name="Overview hook").click()
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("alert")).to_contain_text("Paused: new deliveries are held")
    expect(page.locator("#status-reason")).to_contain_text("Paused by a user")
    expect(page.locator("#status-reason")).to_contain_text("1 delivery waits for it.")
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("alert")).to_contain_text("Resumed: 1 held deliveries sent")
    receiver.wait_for(3, timeout=20)


def test_enter_in_a_field_saves_and_never_wipes_the_custom_body(page, receiver):
    log_in(page)
    page.goto("/organization/webhooks/new")
    page.get_by_label("Type", exact=True).select_option("other")
    custom = '{"hello": "{{event_type}}"}'
    page.get_by_label("Custom body template (optional)", exact=True).fill(custom)
    page.locator("#event-scan\\.completed").check()
    page.get_by_label("URL", exact=True).fill(f"{receiver.url}/enter")
    page.get_by_label("Name", exact=True).fill("Enter key")
    page.get_by_label("Name", exact=True).press("Enter")
    expect(page.get_by_role("heading", name="Endpoint Enter key created")).to_be_visible()
    page.get_by_role("link", name=re.compile("go to Enter key")).click()
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_label("Custom body template (optional)", exact=True)).to_have_value(custom)

    # On edit: a Slack endpoint's own body survives Enter too.
    page.get_by_label("Type", exact=True).select_option("slack")
    page.get_by_label("Custom body template (optional)", exact=True).fill('{"text": "mine"}')
    page.get_by_label("URL", exact=True).press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Saved “Enter key”")
    _row(page, "Enter key").get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Custom body template (optional)", exact=True)).to_have_value(
        '{"text": "mine"}')


def test_rotate_asks_first_and_cancel_changes_nothing(page, receiver):
    log_in(page)
    endpoint_id = _add_endpoint(page, "Rotate me", f"{receiver.url}/rotate")
    page.get_by_role("link", name="Rotate secret…").click()
    expect(page).to_have_url(re.compile(f"/organization/webhooks/{endpoint_id}/rotate$"))
    expect(page.get_by_role("heading", name="Rotate the signing secret of Rotate me?")
           ).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("#settings")).to_contain_text("one secret")
    page.get_by_role("link", name="Rotate secret…").click()
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_role("heading", name="New signing secret for Rotate me")).to_be_visible()
    assert page.get_by_label("Signing secret", exact=True).input_value().startswith("whsec_")
    page.get_by_role("link", name=re.compile("go to Rotate me")).click()
    expect(page.locator("#settings")).to_contain_text("rotation in progress")


def test_a_new_token_is_shown_once_and_a_reload_creates_no_other(page, live_server):
    log_in(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens")
           ).to_have_attribute("aria-current", "page")
    expect(page.locator("#org-id")).to_have_text(live_server.org_id)
    page.get_by_label("Token name", exact=True).fill("Reload safe")
    page.get_by_role("button", name="Create token").click()
    expect(page).to_have_url(re.compile("/organization/tokens$"))
    token = page.get_by_label("New API token", exact=True).input_value()
    assert token.startswith("hkl_")
    page.reload()
    expect(page.get_by_label("New API token", exact=True)).to_have_count(0)
    expect(page.locator("#tokens tbody tr", has_text="Reload safe")).to_have_count(1)


def test_history_search_finds_an_event_by_its_id(page, live_server, receiver):
    log_in(page)
    _add_endpoint(page, "Searchable hook", f"{receiver.url}/search", ("sarif.ingested",))
    before = len(receiver.requests)
    event_id = live_server.cli("emit", "--org", live_server.org_id, "sarif.ingested",
                               _sample("sarif.ingested")).strip().splitlines()[-1]
    receiver.wait_for(before + 1, timeout=20)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    page.get_by_label("Search", exact=True).fill(event_id)
    page.get_by_label("Search", exact=True).press("Enter")
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(event_id)
    expect(rows.first).to_contain_text("Searchable hook")
    expect(page.get_by_label("Search", exact=True)).to_have_value(event_id)
    page.get_by_label("Search", exact=True).fill("SEARCHABLE")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile("q=SEARCHABLE"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Searchable hook")


def test_statistics_ranges(page, live_server, receiver, screenshot):
    log_in(page)
    _add_endpoint(page, "Ranged hook", f"{receiver.url}/ranged", ("assignment.completed",))
    before = len(receiver.requests)
    live_server.cli("emit", "--org", live_server.org_id, "assignment.completed",
                    _sample("assignment.completed"))
    receiver.wait_for(before + 1, timeout=20)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Statistics").click()
    section = page.locator("section.endpoint-stats", has_text="Ranged hook")
    expect(section.locator("g")).to_have_count(14)
    page.get_by_role("navigation", name="Range").get_by_role("link", name="24 hours").click()
    expect(page).to_have_url(re.compile("range=24h"))
    expect(section.locator("g")).to_have_count(24)
    expect(section.locator("[data-stat=calls]")).to_have_text("1")
    expect(section.get_by_text("Calls · 24 h")).to_be_visible()
    # Values are written over the bars, at least 12 px, without hovering.
    value = section.locator("text.bar-value").first
    expect(value).to_have_text("1")
    assert float(value.evaluate("el => getComputedStyle(el).fontSize").rstrip("px")) >= 12
    section.get_by_text("The figures as a table").click()
    expect(section.locator("details table tbody tr")).to_have_count(24)
    page.get_by_role("navigation", name="Range").get_by_role("link", name="30 days").click()
    expect(section.locator("g")).to_have_count(30)
    screenshot(page, "stats")


def test_template_preview_shows_each_sample_or_the_exact_error(page, receiver):
    log_in(page)
    page.goto("/organization/webhooks/new")
    page.locator("#event-scan\\.completed").check()
    page.locator("#event-user\\.login").check()
    template = page.get_by_label("Custom body template (optional)", exact=True)
    template.fill('{"text": "{{event_type}} in {{data.project.name}}", "n": {{data.nope.deep}}}')
    page.get_by_role("button", name="Preview with samples").click()
    preview = page.locator("#template-preview")
    expect(preview).to_be_in_viewport()
    scan = preview.locator("[data-event-type='scan.completed']")
    expect(scan.locator("pre")).to_contain_text('"text": "scan.completed in Production API"')
    expect(scan.locator(".preview-missing")).to_have_text(
        "{{data.nope.deep}} is not in this event's sample: it renders empty.")
    login = preview.locator("[data-event-type='user.login']")
    expect(login.locator(".preview-missing")).to_have_count(2)
    # The form kept everything typed; nothing was saved.
    expect(page.locator("#event-user\\.login")).to_be_checked()
    template.fill('{"text": {{event_type}}')
    page.get_by_role("button", name="Preview with samples").click()
    expect(preview.locator(".preview-error").first).to_contain_text(
        "Custom body is not valid JSON: ")


def test_rotate_from_the_edit_form_does_not_drop_unsaved_edits_unasked(page, receiver):
    log_in(page)
    endpoint_id = _add_endpoint(page, "Unsaved edits", f"{receiver.url}/unsaved")
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Name", exact=True).fill("Unsaved edits, renamed")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("link", name="Rotate secret…").click()
    assert asked == ["Your changes to this form are not saved yet. Leave without saving them?"]
    expect(page).to_have_url(re.compile(f"/organization/webhooks/{endpoint_id}/edit$"))
    expect(page.get_by_label("Name", exact=True)).to_have_value("Unsaved edits, renamed")
