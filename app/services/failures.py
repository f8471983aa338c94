"""Why an attempt failed: one error class per cause, read from the attempt's recorded outcome."""
from dataclasses import dataclass

from .body_templates import PREFIX as TEMPLATE_ERROR_PREFIX


@dataclass(frozen=True)
class ErrorClass:
    """A kind of failure: its short name (as the API and the pages show it) and what it means."""

    name: str
    title: str
    meaning: str


ERROR_CLASSES = {
    error_class.name: error_class
    for error_class in (
        ErrorClass("dns", "DNS", "The receiver's host name did not resolve."),
        ErrorClass("connect", "Connection",
                   "The receiver could not be reached: refused, reset or unreachable."),
        ErrorClass("tls", "TLS", "The secure connection failed: certificate or handshake."),
        ErrorClass("timeout", "Timeout", "The receiver did not answer in time."),
        ErrorClass("http", "HTTP status", "The receiver answered, with a status other than 2xx."),
        ErrorClass("redirect", "Redirect", "The receiver answered with a redirect, which is "
                                           "not followed."),
        ErrorClass("protocol", "Protocol", "The answer was not valid HTTP."),
        ErrorClass("blocked", "Blocked address",
                   "The host resolved to an address deliveries may not go to."),
        ErrorClass("request", "Request",
                   "The request could not be built: a header HTTP cannot carry, for one; "
                   "nothing was sent."),
        ErrorClass("template", "Custom body",
                   "The endpoint's custom body did not render to a JSON object; nothing was "
                   "sent."),
        ErrorClass("secret", "Signing secret",
                   "The signing secret could not be decrypted with the configured key; "
                   "nothing was sent."),
        ErrorClass("other", "Other", "The send failed for another reason."),
    )
}

# The start of each error text the sender records, and its class. The texts are written by
# services/transport.py (_pin, describe, _send), services/attempt_requests.py and
# services/dispatch.py; a delivery's last error is "HTTP <status>" when the receiver answered
# with a non-2xx status.
_ERROR_STARTS = (
    ("HTTP ", "http"),
    ("Timed out after", "timeout"),
    ("TLS error:", "tls"),
    ("DNS lookup failed", "dns"),
    ("Connection refused", "connect"),
    ("Connection reset", "connect"),
    ("Connection failed", "connect"),
    ("Invalid HTTP response", "protocol"),
    ("Blocked address", "blocked"),
    ("Redirect to", "redirect"),
    ("A header value has characters that cannot be sent", "request"),
    ("Custom header ", "request"),
    ("Could not build the request", "request"),
    (TEMPLATE_ERROR_PREFIX, "template"),
    ("Signing secret cannot be decrypted", "secret"),
)
# services/outcomes.py keeps the cause after this when a response could not be stored.
_UNSTORED = "The attempt's outcome could not be stored: "


def error_class(error, response_status):
    """The ErrorClass of an attempt with this error text and response status, or None when
    it succeeded (a 2xx and no error) or has no outcome yet."""
    if error and error.startswith(_UNSTORED):
        return error_class(error[len(_UNSTORED):], response_status) or ERROR_CLASSES["other"]
    if error:
        for start, name in _ERROR_STARTS:
            if error.startswith(start):
                return ERROR_CLASSES[name]
        return ERROR_CLASSES["other"]
    if response_status is None or 200 <= response_status < 300:
        return None
    return ERROR_CLASSES["http"]
