"""What one attempt sends: the body (default payload or rendered template), the signature and
custom headers, and the headers as history shows them. Building never raises: whatever goes
wrong becomes the attempt's error, so one delivery's problem stays its own."""
import logging
import time
from dataclasses import dataclass, field

from flask import current_app

from . import body_templates, crypto, endpoints, payloads, signing

log = logging.getLogger(__name__)


@dataclass
class AttemptRequest:
    """The bytes and headers to POST, or the error that kept them from being built."""

    body: bytes = b""
    headers: dict = field(default_factory=dict)
    shown_headers: dict = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Target:
    """What sending and recording need of an endpoint, read once per batch."""

    id: str
    org_id: str
    url: str
    retry_policy: str
    slow: bool
    rate_limit: int | None = None
    ordered: bool = False

    @classmethod
    def of(cls, endpoint):
        return cls(endpoint.id, endpoint.org_id, endpoint.url, endpoint.retry_policy,
                   endpoint.timed_out_at is not None, endpoint.rate_limit, endpoint.ordered)


class Secrets:
    """Each endpoint's signing secrets and custom headers, decrypted once per batch."""

    def __init__(self):
        self._known = {}

    def of(self, endpoint):
        """(signing secrets, custom headers), or None when they cannot be decrypted."""
        if endpoint.id not in self._known:
            try:
                self._known[endpoint.id] = (
                    endpoints.signing_secrets(endpoint), endpoints.custom_headers(endpoint)
                )
            except crypto.DecryptionError:
                # A changed encryption key: fail the attempt visibly rather than loop.
                self._known[endpoint.id] = None
        return self._known[endpoint.id]


def build(delivery, endpoint, secrets):
    """The request of one attempt of `delivery` (a claimed row) to `endpoint`."""
    try:
        return _build(delivery, endpoint, secrets)
    except Exception as exc:  # one delivery's surprise must not stop the others
        log.exception("Could not build the request of delivery %s", delivery.id)
        return AttemptRequest(error=f"Could not build the request: {exc.__class__.__name__}")


def _build(delivery, endpoint, secrets):
    try:
        body = payloads.request_body(delivery.payload, endpoint.body_template)
    except body_templates.BodyTemplateError as exc:
        return AttemptRequest(error=str(exc))
    known = secrets.of(endpoint)
    if known is None:
        return AttemptRequest(
            error="Signing secret cannot be decrypted: check WEBHOOK_ENCRYPTION_KEY"
        )
    signing_secrets, custom = known
    config = current_app.config
    prefix = config["WEBHOOK_HEADER_PREFIX"]
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": config["WEBHOOK_USER_AGENT"],
        f"{prefix}-Event": delivery.event_type,
        f"{prefix}-Delivery": delivery.id,
        f"{prefix}-Timestamp": str(timestamp),
        **signing.signature_headers(
            body, signing_secrets, message_id=delivery.event_id, timestamp=timestamp,
            prefix=prefix,
        ),
    }
    shown = dict(headers)
    for name, value in custom:
        if not _sendable(name) or not _sendable(value):
            return AttemptRequest(
                error=f"Custom header {name!r} cannot be sent: HTTP header values allow only "
                "Latin-1 characters; edit the webhook's headers"
            )
        headers[name] = value
        shown[name] = endpoints.mask(value)
    return AttemptRequest(body, headers, shown)


def _sendable(text):
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
