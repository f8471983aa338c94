"""The endpoint form's payload filter rows, sample check and options, in Chromium without
JavaScript: plain form posts that re-render and keep what was typed."""
import re

import pytest
from playwright.sync_api import expect

from .conftest import PageWatch, accessibility_problems, log_in


@pytest.fixture
def plain_page(browser, live_server):
    """A page with JavaScript off, watched like no_js_page; the form's 422 is expected."""
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  reduced_motion="reduce")
    page = context.new_page()
    watch = PageWatch()
    watch.allow("status of 422")
    watch.attach(context, page)
    page.set_default_timeout(15_000)
    yield page
    context.close()
    watch.check()


def test_filter_rows_and_options_work_without_javascript(plain_page, screenshot):
    page = plain_page
    log_in(page)
    page.goto("/organization/webhooks/new")
    page.get_by_label("Name", exact=True).fill("Urgent issues")
    page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/urgent")
    page.locator("#event-issue\\.status_changed").check()
    page.locator("#event-scan\\.completed").check()
    page.get_by_label("Condition 1 path", exact=True).fill("data.urgency")
    page.get_by_label("Condition 1 operator", exact=True).select_option("in")
    page.get_by_label("Condition 1 value", exact=True).fill("HI, CR")

    page.get_by_role("button", name="Add condition").click()
    expect(page.get_by_label("Condition 3 path", exact=True)).to_be_visible()
    expect(page.get_by_label("Condition 1 value", exact=True)).to_have_value("HI, CR")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Urgent issues")

    page.get_by_role("button", name="Check against samples").click()
    check = page.locator("#filter-check")
    expect(check.locator('[data-verdict="issue.status_changed"]')).to_contain_text(
        "this sample would be delivered")
    expect(check.locator('[data-verdict="scan.completed"]')).to_contain_text(
        "this sample would not be delivered")
    assert accessibility_problems(page) == []
    screenshot(page, "endpoint-options")

    page.get_by_label("Condition 2 path", exact=True).fill("urgency")
    page.get_by_label("Rate limit (deliveries per second)", exact=True).fill("fast")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.locator(".filter-row").nth(1)).to_contain_text("must start with data")
    expect(page.get_by_label("Rate limit (deliveries per second)", exact=True)).to_have_class(
        re.compile("is-invalid"))

    page.get_by_label("Remove condition 2", exact=True).check()
    page.get_by_label("Rate limit (deliveries per second)", exact=True).fill("5")
    page.get_by_label("Ordered delivery", exact=True).check()
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.get_by_label("Signing secret", exact=True)).to_be_visible()

    page.get_by_role("link", name=re.compile("back to Webhooks")).click()
    page.locator("#webhooks tbody tr", has_text="Urgent issues").get_by_role(
        "link", name="Edit").click()
    expect(page.get_by_label("Condition 1 path", exact=True)).to_have_value("data.urgency")
    expect(page.get_by_label("Condition 1 value", exact=True)).to_have_value('["HI", "CR"]')
    expect(page.get_by_label("Condition 2 path", exact=True)).to_have_value("")
    expect(page.get_by_label("Rate limit (deliveries per second)", exact=True)).to_have_value("5")
    expect(page.get_by_label("Ordered delivery", exact=True)).to_be_checked()
