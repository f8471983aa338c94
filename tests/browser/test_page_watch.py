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


def test_a_request_outside_127_0_0_1_is_blocked_and_fails(watched):
    page, watch = watched
    page.goto("/login")
    watch.check()
    loaded = page.evaluate("""() => new Promise((resolve) => {
        const img = new Image();
        img.onload = () => resolve(true);
        img.onerror = () => resolve(false);
        img.src = "http://cdn.example.com/logo.png";
    })""")
    assert loaded is False
    assert watch.outside == ["http://cdn.example.com/logo.png"]
    with pytest.raises(AssertionError, match="outside 127.0.0.1"):
        watch.check()


def test_a_console_error_fails(watched):
    page, watch = watched
    page.goto("/login")
    page.evaluate("console.error('broken widget')")
    with pytest.raises(AssertionError, match="broken widget"):
        watch.check()
