"""The docs page in Chromium: reached from the sidebar, readable with and without JavaScript."""
import re

from playwright.sync_api import expect

from .conftest import log_in


def test_docs_page_from_the_sidebar(page, screenshot):
    log_in(page)
    api_section = page.get_by_role("navigation", name="Main").get_by_role("list", name="API")
    api_section.get_by_role("link", name="Webhooks", exact=True).click()
    page.wait_for_url("**/docs/webhooks")
    assert page.get_by_role("heading", name="API → Webhooks").is_visible()
    for language in ("Python", "Node.js", "Go"):
        assert page.get_by_role("heading", name=language, exact=True).is_visible()
    assert page.locator("#snippet-python").inner_text().startswith('"""Verify Hookline')
    assert page.locator("pre[data-sample]").count() == 13
    assert page.locator("pre[data-schema]").count() == 13
    screenshot(page, "docs-webhooks")
    page.get_by_role("link", name="Verifying signatures").click()
    expect(page).to_have_url(re.compile("#verify$"))
    screenshot(page, "docs-verify", full_page=False)
