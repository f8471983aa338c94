"""The page watch really fails a test on an outside request or a console error."""
import pytest

from .conftest import PageWatch


@pytest.fixture
def watched(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    watch = PageWatch()
    watch.attach(context, page)
    yield page, watch
    context.close()


LOAD_OUTSIDE_IMAGE = """() => new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve(true);
    img.onerror = () => resolve(false);
    img.src = "http://cdn.example.com/logo.png";
})"""


def test_a_request_outside_127_0_0_1_is_blocked_and_fails(watched):
    page, watch = watched
    page.goto("/login")
    watch.check()
    # A document without Hookline's Content-Security-Policy, so the request leaves the page.
    page.goto("about:blank")
    page.set_content("<p>No policy here</p>")
    assert page.evaluate(LOAD_OUTSIDE_IMAGE) is False
    assert watch.outside == ["http://cdn.example.com/logo.png"]
    with pytest.raises(AssertionError, match="outside 127.0.0.1"):
        watch.check()


def test_on_hookline_pages_the_policy_refuses_it_first_and_the_watch_fails(watched):
    page, watch = watched
    page.goto("/login")
    assert page.evaluate(LOAD_OUTSIDE_IMAGE) is False
    assert watch.outside == []
    with pytest.raises(AssertionError, match="Content Security Policy"):
        watch.check()


def test_a_console_error_fails(watched):
    page, watch = watched
    page.goto("/login")
    page.evaluate("console.error('broken widget')")
    with pytest.raises(AssertionError, match="broken widget"):
        watch.check()
