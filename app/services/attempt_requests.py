"""What one attempt sends: the body (default payload or rendered template), the signature and
custom headers, and the headers as history shows them. Building never raises: whatever goes
wrong becomes the attempt's error, so one delivery's problem stays its own."""
import logging
import time
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Endpoint, utcnow
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
    """What sending and recording need of an endpoint."""

    id: str
    org_id: str
    url: str
    retry_policy: str
    slow: bool
    rate_limit: int | None = None
    ordered: bool = False


@dataclass(frozen=True)
class EndpointVersion:
    """One version of an endpoint (its updated_at) as attempts use it, secrets decrypted.

    `secrets` is (current, previous, previous expires at), or None when they cannot be
    decrypted (a changed WEBHOOK_ENCRYPTION_KEY); `headers` the custom (name, value) pairs.
    """

    id: str
    org_id: str
    url: str
    retry_policy: str
    rate_limit: int | None
    ordered: bool
    body_template: str | None
    updated_at: object
    secrets: tuple | None
    headers: tuple

    def target(self, slow):
        return Target(self.id, self.org_id, self.url, self.retry_policy, slow,
                      self.rate_limit, self.ordered)

    def signing_secrets(self, now):
        """The secrets to sign with now: the current one, then the previous one during its
        grace period."""
        current, previous, expires_at = self.secrets
        return [current, previous] if previous and expires_at and expires_at > now else [current]


_COLUMNS = (
    Endpoint.id, Endpoint.org_id, Endpoint.url, Endpoint.retry_policy, Endpoint.rate_limit,
    Endpoint.ordered, Endpoint.body_template, Endpoint.updated_at, Endpoint.secret_encrypted,
    Endpoint.previous_secret_encrypted, Endpoint.previous_secret_expires_at,
    Endpoint.headers_encrypted,
)
# This process's endpoint versions, by endpoint id: an endpoint is read and its secrets
# decrypted again only when its updated_at moves (every change to it moves it).
_VERSIONS = {}
VERSIONS_KEPT = 10_000


def endpoint_versions(wanted):
    """{endpoint id: EndpointVersion} for `wanted` ({endpoint id: updated_at}), read from the
    database only for those not known at that version."""
    stale = [key for key, updated_at in wanted.items()
             if key not in _VERSIONS or _VERSIONS[key].updated_at != updated_at]
    if stale:
        if len(_VERSIONS) > VERSIONS_KEPT:
            _VERSIONS.clear()
        for row in db.session.execute(select(*_COLUMNS).where(Endpoint.id.in_(stale))):
            _VERSIONS[row.id] = _version(row)
    return {key: _VERSIONS[key] for key in wanted if key in _VERSIONS}


def _version(row):
    try:
        secrets = (
            crypto.decrypt(row.secret_encrypted),
            crypto.decrypt(row.previous_secret_encrypted) if row.previous_secret_encrypted
            else None,
            row.previous_secret_expires_at,
        )
        headers = tuple(endpoints.custom_headers(row))
    except crypto.DecryptionError:
        secrets, headers = None, ()
    return EndpointVersion(
        row.id, row.org_id, row.url, row.retry_policy, row.rate_limit, row.ordered,
        row.body_template, row.updated_at, secrets, headers,
    )


def build(delivery, endpoint):
    """The request of one attempt of `delivery` (a claimed row) to `endpoint` (an
    EndpointVersion)."""
    try:
        return _build(delivery, endpoint)
    except Exception as exc:  # one delivery's surprise must not stop the others
        log.exception("Could not build the request of delivery %s", delivery.id)
        return AttemptRequest(error=f"Could not build the request: {exc.__class__.__name__}")


def _build(delivery, endpoint):
    try:
        body = payloads.request_body(delivery.payload, endpoint.body_template)
    except body_templates.BodyTemplateError as exc:
        return AttemptRequest(error=str(exc))
    if endpoint.secrets is None:
        return AttemptRequest(
            error="Signing secret cannot be decrypted: check WEBHOOK_ENCRYPTION_KEY"
        )
    signing_secrets, custom = endpoint.signing_secrets(utcnow()), endpoint.headers
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
