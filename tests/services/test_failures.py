"""Error classes: every error text the sender records maps to the class a user reads."""
import pytest

from app.services.failures import ERROR_CLASSES, error_class


@pytest.mark.parametrize(("error", "status", "expected"), [
    ("Timed out after 10 s", None, "timeout"),
    ("TLS error: certificate verify failed: self-signed certificate", None, "tls"),
    ("TLS error: wrong version number", None, "tls"),
    ("DNS lookup failed for hooks.example.test", None, "dns"),
    ("Connection refused", None, "connect"),
    ("Connection reset", None, "connect"),
    ("Connection failed: ConnectionError", None, "connect"),
    ("Invalid HTTP response: ('Connection aborted.', BadStatusLine('nope'))", None, "protocol"),
    ("Blocked address: URL host x.test resolves to a blocked address (10.0.0.1): loopback…",
     None, "blocked"),
    ("Redirect to https://elsewhere.test/ not followed", 302, "redirect"),
    ("Redirect to (no location) not followed", 301, "redirect"),
    ("Custom body is not valid JSON: Expecting ',' delimiter at line 1 column 9", None,
     "template"),
    ("Custom body is not valid JSON: the result must be a JSON object, not an array", None,
     "template"),
    ("Custom body is not valid JSON: unknown placeholder {{nope}} at line 1 column 2", None,
     "template"),
    ("Signing secret cannot be decrypted: check WEBHOOK_ENCRYPTION_KEY", None, "secret"),
    ("A header value has characters that cannot be sent in HTTP (only Latin-1)", None,
     "request"),
    ("Custom header 'X-Name' cannot be sent: HTTP header values allow only Latin-1 characters;"
     " edit the webhook's headers", None, "request"),
    ("Could not build the request: KeyError", None, "request"),
    ("Send failed: RuntimeError", None, "other"),
    ("The attempt's outcome could not be stored: HTTP 500", 500, "http"),
    ("The attempt's outcome could not be stored: Timed out after 10 s", None, "timeout"),
    ("Something nobody expected", None, "other"),
    ("HTTP 503", 503, "http"),
    (None, 500, "http"),
    (None, 404, "http"),
    (None, 199, "http"),
])
def test_each_error_text_has_its_class(error, status, expected):
    found = error_class(error, status)
    assert found is ERROR_CLASSES[expected]
    assert found.title and found.meaning


@pytest.mark.parametrize("status", [200, 204, 299, None])
def test_a_success_or_an_attempt_without_outcome_has_no_class(status):
    assert error_class(None, status) is None
    assert error_class("", status) is None


def test_the_texts_of_the_sender_are_the_ones_classified():
    """The messages are taken from the code that writes them, so a change there shows here."""
    from pathlib import Path

    sources = "".join(
        (Path(__file__).parents[2] / "app" / "services" / name).read_text()
        for name in ("transport.py", "attempt_requests.py", "dispatch.py", "outcomes.py")
    )
    for start in ("Timed out after", "TLS error:", "DNS lookup failed for", "Connection refused",
                  "Connection reset", "Connection failed:", "Invalid HTTP response:",
                  "Blocked address:", "Redirect to", "Signing secret cannot be decrypted",
                  "A header value has characters that cannot be sent", "Custom header ",
                  "Could not build the request", "Send failed:",
                  "The attempt's outcome could not be stored: "):
        assert start in sources, start
