"""Endpoints: validation, secrets, custom headers, health status, create/edit/pause/delete."""
import base64
import difflib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import func, select, update

from .. import catalog
from ..extensions import db
from ..models import ENDPOINT_TYPES, RETRY_POLICIES, Endpoint, Organization, User, utcnow
from . import (
    after_commit,
    audit,
    body_templates,
    crypto,
    delivery_state,
    payload_filters,
    url_safety,
)
from . import events as event_service

SECRET_PREFIX = "whsec_"
MAX_NAME = 200
MAX_DESCRIPTION = 500
MAX_HEADERS = 20
MAX_HEADER_BYTES = 4096
MAX_FILTER_ITEMS = 200
MAX_RATE_LIMIT = 1000
TYPE_LABELS = {
    "slack": "Slack",
    "teams": "Microsoft Teams",
    "zapier": "Zapier",
    "pagerduty": "PagerDuty",
    "splunk": "Splunk HEC",
    "jira": "Jira Automation",
    "other": "Other",
}
STATUS_LABELS = {
    "pending": "Pending",
    "healthy": "Healthy",
    "failing": "Failing",
    "disabled": "Disabled",
    "paused": "Paused",
}
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_RESERVED_HEADERS = {
    "host", "content-length", "content-type", "transfer-encoding", "connection", "user-agent",
}
_RESERVED_PREFIXES = ("x-hookline-", "webhook-")
# JSON field names the API and the form share; any other name in a request is refused.
FIELDS = (
    "name", "description", "url", "type", "events", "projects", "statuses", "headers",
    "bodyTemplate", "retryPolicy", "isActive", "payloadFilter", "rateLimit", "ordered",
)
# Fields the API shows but nobody sets.
READ_ONLY = (
    "id", "status", "disabledAt", "disabledReason", "rotationInProgress", "createdBy",
    "createdAt", "updatedAt", "lastDeliveryAt", "stats", "secret",
)


class EndpointInvalid(ValueError):
    """Validation failed; `fields` maps JSON field names to messages, `header_rows`
    maps a header's index to its message, `header_value_rows` holds the header indexes whose
    message is about the value (the others are about the name), `filter_rows` maps a payload
    filter condition's index to its message."""

    def __init__(self, fields, header_rows=None, filter_rows=None, header_value_rows=()):
        super().__init__("; ".join(f"{name}: {message}" for name, message in fields.items()))
        self.fields = fields
        self.header_rows = header_rows or {}
        self.filter_rows = filter_rows or {}
        self.header_value_rows = set(header_value_rows)


class EndpointLimitReached(ValueError):
    """The organization already has MAX_ENDPOINTS_PER_ORG live endpoints."""


def generate_secret():
    """A new signing secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signing_secrets(endpoint, now=None) -> list[str]:
    """The secrets to sign with: the current one, then the previous one during its grace."""
    now = now or utcnow()
    found = [crypto.decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        found.append(crypto.decrypt(endpoint.previous_secret_encrypted))
    return found


def rotation_in_progress(endpoint, now=None):
    """True while the previous secret still signs (its grace period has not ended)."""
    expires = endpoint.previous_secret_expires_at
    return bool(endpoint.previous_secret_encrypted and expires and expires > (now or utcnow()))


def _stored_headers(endpoint):
    if not endpoint.headers_encrypted:
        return []
    return json.loads(crypto.decrypt(endpoint.headers_encrypted))


def custom_headers(endpoint) -> list[tuple[str, str]]:
    """The endpoint's custom headers as (name, value) pairs, decrypted, for sending."""
    return [(item["name"], item["value"]) for item in _stored_headers(endpoint)]


def mask(value):
    """A header value as pages and the API show it: at most its last 4 characters."""
    tail = value[-4:] if len(value) >= 8 else ""
    return "••••" + tail


def masked_headers(endpoint):
    """[{"name", "value"}] with every value masked."""
    return [{"name": name, "value": mask(value)} for name, value in custom_headers(endpoint)]


def health_status(endpoint) -> str:
    """pending | healthy | failing | disabled | paused: the one place it is computed."""
    if endpoint.disabled_at is not None:
        return "disabled"
    if not endpoint.is_active:
        return "paused"
    if endpoint.last_attempt_ok is None:
        return "pending"
    return "healthy" if endpoint.last_attempt_ok else "failing"


def stopped_automatically(endpoint) -> bool:
    """True while Hookline's own rules hold the endpoint: auto-disabled (disabled-at set) or
    auto-paused (inactive with a reason; a user's pause leaves no reason)."""
    if endpoint.disabled_at is not None:
        return True
    return not endpoint.is_active and bool(endpoint.disabled_reason)


def get_endpoint(org_id, endpoint_id):
    """A live endpoint of the organization, or None (deleted or another tenant's)."""
    if not isinstance(endpoint_id, str) or len(endpoint_id) > 36:
        return None
    return Endpoint.get_in_org(org_id, endpoint_id)


def list_endpoints(org_id):
    """The organization's live endpoints, newest first."""
    return db.session.execute(
        Endpoint.for_org(org_id).order_by(Endpoint.created_at.desc(), Endpoint.id)
    ).scalars().all()


# Validation --------------------------------------------------------------------------------

def _text(value, label, limit, required):
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValueError(f"{label} must be a string")
    value = value.strip()
    if required and not value:
        raise ValueError(f"{label} is required")
    if len(value) > limit:
        raise ValueError(f"{label} must be at most {limit} characters")
    return value


def _string_list(value, label):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{label} must be a list of strings")
    if len(value) > MAX_FILTER_ITEMS:
        raise ValueError(f"{label} may list at most {MAX_FILTER_ITEMS} items")
    return list(dict.fromkeys(item.strip() for item in value if item.strip()))


def _events(value):
    events = _string_list(value, "Events")
    if not events:
        raise ValueError("Choose at least one event")
    unknown = [event for event in events if catalog.get(event) is None]
    if unknown:
        raise ValueError(f"Unknown event type: {', '.join(unknown)}")
    return events


def _projects(value):
    projects = _string_list(value, "Projects")
    if any(len(item) > 200 for item in projects):
        raise ValueError("Project ids must be at most 200 characters")
    return projects


def _statuses(value):
    statuses = _string_list(value, "Statuses")
    unknown = [status for status in statuses if status not in catalog.ISSUE_STATUSES]
    if unknown:
        raise ValueError(
            f"Unknown issue status: {', '.join(unknown)} "
            f"(choose from {', '.join(catalog.ISSUE_STATUSES)})"
        )
    return statuses


def _choice(value, label, choices):
    if value not in choices:
        raise ValueError(f"{label} must be one of: {', '.join(choices)}")
    return value


def _url(value):
    config = current_app.config
    try:
        return url_safety.validate_url(
            value,
            allow_http=config["WEBHOOK_ALLOW_HTTP"],
            allow_private=config["WEBHOOK_ALLOW_PRIVATE_TARGETS"],
        )
    except url_safety.UrlRejected as exc:
        raise ValueError(str(exc) + _DEVELOPMENT_HINTS.get(exc.allowance, "")) from None


# What a refused local URL needs, for someone trying Hookline with a receiver on their machine.
_DEVELOPMENT_HINTS = {
    url_safety.HTTP_SETTING: f" (a local receiver in development needs "
                             f"{url_safety.HTTP_SETTING}=1, and "
                             f"{url_safety.PRIVATE_SETTING}=1 for a loopback or private "
                             f"address)",
    url_safety.PRIVATE_SETTING: f" (a local receiver in development needs "
                                f"{url_safety.PRIVATE_SETTING}=1)",
}


def _header_problem(name, value):
    """What is wrong with one header, as ("name" or "value", message), or None."""
    if not name:
        return "name", "Header name is required"
    if not _TOKEN.match(name):
        return "name", f"Header name {name!r} is not valid: use letters, digits and " \
                       "!#$%&'*+-.^_`|~"
    lowered = name.lower()
    if lowered in _RESERVED_HEADERS or lowered.startswith(_RESERVED_PREFIXES) or lowered.startswith(
        current_app.config["WEBHOOK_HEADER_PREFIX"].lower() + "-"
    ):
        return "name", f"Header {name} is set by Hookline and cannot be overridden"
    if any(char in value for char in "\r\n\x00"):
        return "value", f"Header {name} value must not contain CR, LF or NUL"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "value", (f"Header {name} value may only use Latin-1 characters (HTTP header "
                         "values cannot carry others): encode the value, for example as base64")
    if len(value.encode("utf-8")) > MAX_HEADER_BYTES:
        return "value", f"Header {name} value must be at most 4 KB"
    if not value:
        return "value", f"Header {name} needs a value"
    return None


def _headers(value, existing):
    """Clean header rows; a blank (or still masked) value keeps the saved value of that name."""
    if value is None:
        return [], {}
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError('Headers must be a list of {"name", "value"} objects')
    saved = dict(existing)
    clean, rows, value_rows, seen = [], {}, set(), set()
    for index, item in enumerate(value):
        name, raw = item.get("name"), item.get("value")
        if name is None:
            name = ""
        if raw is None:
            raw = ""
        if not isinstance(name, str) or not isinstance(raw, str):
            rows[index] = "Header name and value must be strings"
            continue
        name = name.strip()
        if not name and not raw:
            continue
        if name in saved and (raw == "" or raw == mask(saved[name])):
            raw = saved[name]
        problem = _header_problem(name, raw)
        if problem is None and name.lower() in seen:
            problem = "name", f"Header {name} is listed twice"
        if problem:
            part, rows[index] = problem
            if part == "value":
                value_rows.add(index)
            continue
        seen.add(name.lower())
        clean.append({"name": name, "value": raw})
    if len(clean) > MAX_HEADERS:
        raise ValueError(f"At most {MAX_HEADERS} custom headers are allowed")
    return clean, rows, value_rows


def _body_template(value):
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("Body template must be a string or null")
    return value if value.strip() else None


def _rate_limit(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RATE_LIMIT:
        raise ValueError(f"Rate limit must be a whole number of deliveries per second from 1 "
                         f"to {MAX_RATE_LIMIT:,}, or empty for no limit")
    return value


def _boolean(label):
    def check(value):
        if not isinstance(value, bool):
            raise ValueError(f"{label} must be true or false")
        return value

    return check


def _unknown_fields(data):
    """{name: message} for every key of a request that is not an endpoint field."""
    problems = {}
    for key in data:
        if key in FIELDS:
            continue
        if key in READ_ONLY:
            problems[key] = f"{key} is read-only"
            continue
        close = difflib.get_close_matches(str(key), FIELDS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        problems[key] = f"Unknown field {key!r}{hint}"
    return problems


_CHECKS = {
    "name": lambda v: _text(v, "Name", MAX_NAME, required=True),
    "description": lambda v: _text(v, "Description", MAX_DESCRIPTION, required=False),
    "url": _url,
    "type": lambda v: _choice(v, "Type", ENDPOINT_TYPES),
    "events": _events,
    "projects": _projects,
    "statuses": _statuses,
    "bodyTemplate": _body_template,
    "retryPolicy": lambda v: _choice(v, "Retry policy", RETRY_POLICIES),
    "rateLimit": _rate_limit,
    "ordered": _boolean("ordered"),
    "isActive": _boolean("isActive"),
}


def _unstorable(value, allow_nul):
    """True if any string inside is not valid UTF-8 text (lone surrogates) or holds NUL."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return not allow_nul and "\x00" in value
    if isinstance(value, list):
        return any(_unstorable(item, allow_nul) for item in value)
    if isinstance(value, dict):
        return any(_unstorable(item, allow_nul) for pair in value.items() for item in pair)
    return False


def validate(data, endpoint=None):
    """Check endpoint fields (JSON names) for create (endpoint None: all required ones)
    or partial update; returns the clean values of the fields given. Raises EndpointInvalid.

    The one validation used by the admin form and the API, with the same messages.
    """
    if not isinstance(data, dict):
        raise EndpointInvalid({"body": "Expected a JSON object"})
    unknown = _unknown_fields(data)
    if unknown:
        raise EndpointInvalid(unknown)
    if endpoint is None:
        data = {"type": "other", "retryPolicy": "standard", "isActive": True, **data}
        for required in ("name", "url", "events"):
            data.setdefault(required, None)
    clean, errors, header_rows, filter_rows, header_value_rows = {}, {}, {}, {}, set()
    for key in FIELDS:
        if key in data and _unstorable(data[key], allow_nul=key == "headers"):
            errors[key] = "Must be valid text without NUL characters"
    for key, check in _CHECKS.items():
        if key in data and key not in errors:
            try:
                clean[key] = check(data[key])
            except ValueError as exc:
                errors[key] = str(exc)
    if "headers" in data and "headers" not in errors:
        existing = custom_headers(endpoint) if endpoint is not None else []
        try:
            clean["headers"], header_rows, header_value_rows = _headers(data["headers"], existing)
        except ValueError as exc:
            errors["headers"] = str(exc)
        if header_rows:
            errors["headers"] = "; ".join(
                f"Header {index + 1}: {message}" for index, message in header_rows.items()
            )
    if "payloadFilter" in data and "payloadFilter" not in errors:
        try:
            clean["payloadFilter"] = payload_filters.clean(data["payloadFilter"])
        except payload_filters.FilterInvalid as exc:
            errors["payloadFilter"] = str(exc)
            filter_rows = exc.rows
    _check_template(clean, errors, endpoint)
    if errors:
        raise EndpointInvalid(errors, header_rows, filter_rows, header_value_rows)
    return clean


def _check_template(clean, errors, endpoint):
    """The body template must render for the sample of every subscribed event type."""
    if "bodyTemplate" in errors or "events" in errors:
        return
    if "bodyTemplate" not in clean and "events" not in clean:
        return
    template = clean.get("bodyTemplate", endpoint.body_template if endpoint else None)
    events = clean.get("events", endpoint.events if endpoint else [])
    if not template:
        return
    try:
        body_templates.check_against_samples(
            template, events, current_app.config["WEBHOOK_MAX_BODY_BYTES"])
    except body_templates.BodyTemplateError as exc:
        errors["bodyTemplate"] = str(exc)


@dataclass(frozen=True)
class SampleVerdict:
    """Whether the catalog sample of one subscribed type would be delivered, and why not."""

    event_type: str
    delivered: bool
    reason: str = ""


def sample_verdicts(org_id, data, endpoint=None):
    """For each subscribed event type, whether its catalog sample would be delivered under
    the filters in `data` (JSON field names; the saved endpoint's fill in what is absent).

    [] when the events or a filter do not validate: their errors say more.
    """
    checks = {**_CHECKS, "payloadFilter": payload_filters.clean}
    try:
        clean = {key: checks[key](data[key])
                 for key in ("events", "projects", "statuses", "payloadFilter") if key in data}
    except ValueError:
        return []
    target = SimpleNamespace(
        events=clean.get("events", endpoint.events if endpoint else []),
        projects=clean.get("projects", endpoint.projects if endpoint else []),
        statuses=clean.get("statuses", endpoint.statuses if endpoint else []),
        payload_filter=clean.get("payloadFilter", endpoint.payload_filter if endpoint else []),
    )
    return [_verdict(target, body_templates.sample_payload(event_type, org_id))
            for event_type in target.events]


def _verdict(target, payload):
    event_type, data = payload["event_type"], payload["data"]
    if event_service.matches(target, payload):
        return SampleVerdict(event_type, True)
    failing = payload_filters.first_failing(target.payload_filter, payload)
    if failing is not None:
        condition = target.payload_filter[failing]
        return SampleVerdict(event_type, False, f"condition {failing + 1} "
                             f"({payload_filters.describe(condition)}) does not hold")
    if event_type == "issue.status_changed" and target.statuses:
        return SampleVerdict(event_type, False, f"the status filter leaves out its status "
                             f"{data.get('status')!r}")
    return SampleVerdict(event_type, False, f"the project filter leaves out its project "
                         f"{event_service.project_id(data)!r}")


def option_details(endpoint):
    """The delivery options as the audit log records them (counts, never filter values)."""
    return {"rate_limit": endpoint.rate_limit, "ordered": bool(endpoint.ordered),
            "payload_filter_conditions": len(endpoint.payload_filter or [])}


# Changes -----------------------------------------------------------------------------------

def _apply(endpoint, clean):
    simple = {
        "name": "name", "description": "description", "url": "url", "type": "type",
        "events": "events", "projects": "projects", "statuses": "statuses",
        "bodyTemplate": "body_template", "retryPolicy": "retry_policy",
        "payloadFilter": "payload_filter", "rateLimit": "rate_limit", "ordered": "ordered",
    }
    changed = []
    for key, attribute in simple.items():
        if key in clean and getattr(endpoint, attribute) != clean[key]:
            setattr(endpoint, attribute, clean[key])
            changed.append(key)
    if "headers" in clean:
        before = custom_headers(endpoint) if endpoint.headers_encrypted else []
        after = [(item["name"], item["value"]) for item in clean["headers"]]
        if before != after:
            endpoint.headers_encrypted = (
                crypto.encrypt(json.dumps(clean["headers"])) if clean["headers"] else None
            )
            changed.append("headers")
    return changed




def _claim_room(org_id):
    """Raise EndpointLimitReached unless the organization may have one more live endpoint.

    The no-op UPDATE takes the organization's row lock (PostgreSQL) or the database's
    write lock (SQLite) until the create commits, so concurrent creates in one
    organization count one after the other and cannot both take the last place.
    """
    limit = current_app.config["MAX_ENDPOINTS_PER_ORG"]
    db.session.execute(update(Organization).where(Organization.id == org_id)
                       .values(name=Organization.name))
    live = db.session.execute(
        select(func.count(Endpoint.id))
        .where(Endpoint.org_id == org_id, Endpoint.deleted_at.is_(None))
    ).scalar_one()
    if live >= limit:
        db.session.rollback()
        raise EndpointLimitReached(
            f"This organization has {live} endpoints, the most allowed "
            f"(MAX_ENDPOINTS_PER_ORG is {limit}): delete one to add another")


def create_endpoint(org_id, actor, data):
    """Validate and create an endpoint; returns (endpoint, plaintext secret shown once).

    Given no bodyTemplate at all (null is a choice: the default payload), an endpoint of a
    type that needs its own body (Slack, Teams, PagerDuty, Splunk) gets that type's preset,
    as choosing the type on the form does. Raises EndpointInvalid, or EndpointLimitReached
    when the organization already has MAX_ENDPOINTS_PER_ORG live endpoints.
    """
    if isinstance(data, dict) and "bodyTemplate" not in data and isinstance(data.get("type"), str):
        preset = body_templates.PRESETS.get(data["type"])
        if preset:
            data = {**data, "bodyTemplate": preset}
    clean = validate(data)
    _claim_room(org_id)
    secret = generate_secret()
    endpoint = Endpoint(
        org_id=org_id,
        secret_encrypted=crypto.encrypt(secret),
        is_active=clean.get("isActive", True),
        created_by_id=actor.id if isinstance(actor, User) else None,
        created_by_name=audit.actor_fields(actor)["actor_name"][:254],
        description="",
        projects=[],
        statuses=[],
        payload_filter=[],
        ordered=False,
    )
    _apply(endpoint, clean)
    db.session.add(endpoint)
    db.session.flush()
    audit.record(org_id, actor, "endpoint.create", "endpoint", endpoint.id,
                 {"name": endpoint.name, "type": endpoint.type, "events": endpoint.events,
                  **option_details(endpoint)},
                 commit=False)
    after_commit.add("endpoints_changed", org_id)
    db.session.commit()
    return endpoint, secret


def held_count(endpoint):
    """How many deliveries wait for this paused or disabled endpoint."""
    return delivery_state.held_count(endpoint.id)


def update_endpoint(org_id, actor, endpoint, data, discard_held=False):
    """Validate and apply a partial update. isActive false pauses; isActive true on a paused
    or disabled endpoint resumes it (clears the disabled state and the failure streak) and
    sends what was held, oldest first, or cancels it when `discard_held`. Deliveries being
    sent at that moment are left to their attempt. Returns the endpoint."""
    clean = validate(data, endpoint)
    changed = _apply(endpoint, clean)
    released = 0
    action = None
    if "isActive" in clean:
        stopped = not endpoint.is_active or endpoint.disabled_at is not None
        if clean["isActive"] and stopped:
            endpoint.is_active = True
            endpoint.disabled_at = None
            endpoint.disabled_reason = None
            endpoint.consecutive_failures = 0
            action = "endpoint.resume"
        elif not clean["isActive"] and endpoint.is_active:
            endpoint.is_active = False
            action = "endpoint.pause"
    if changed or action:
        endpoint.updated_at = utcnow()
    # The endpoint row before its deliveries: the lock order of delivery_state.
    db.session.flush()
    if action == "endpoint.resume":
        if discard_held:
            _count_cancelled(endpoint, delivery_state.cancel_for_endpoint(endpoint.id))
        else:
            released = delivery_state.release_held(endpoint.id)
            if released:
                after_commit.add("drain", True)
    if changed:
        details = {"name": endpoint.name, "changed": changed}
        if {"payloadFilter", "rateLimit", "ordered"} & set(changed):
            details.update(option_details(endpoint))
        audit.record(org_id, actor, "endpoint.update", "endpoint", endpoint.id, details,
                     commit=False)
    if action == "endpoint.resume":
        audit.record(org_id, actor, action, "endpoint", endpoint.id,
                     {"name": endpoint.name, "discard_held": bool(discard_held),
                      "released": released}, commit=False)
    elif action:
        audit.record(org_id, actor, action, "endpoint", endpoint.id, {"name": endpoint.name},
                     commit=False)
    after_commit.add("endpoints_changed", org_id)
    db.session.commit()
    return endpoint


def delete_endpoint(org_id, actor, endpoint):
    """Soft delete: the endpoint leaves every list and its waiting deliveries are cancelled
    (one being sent right now ends cancelled when its attempt is recorded); returns how many
    were cancelled at once."""
    endpoint.deleted_at = utcnow()
    endpoint.is_active = False
    # The endpoint row before its deliveries: the lock order of delivery_state.
    db.session.flush()
    cancelled = delivery_state.cancel_for_endpoint(endpoint.id)
    _count_cancelled(endpoint, cancelled)
    audit.record(org_id, actor, "endpoint.delete", "endpoint", endpoint.id,
                 {"name": endpoint.name, "cancelled_deliveries": cancelled}, commit=False)
    after_commit.add("endpoints_changed", org_id)
    db.session.commit()
    return cancelled


def _count_cancelled(endpoint, count):
    if count:
        endpoint.cancelled_count = Endpoint.cancelled_count + count


def rotate_secret(org_id, actor, endpoint):
    """A new secret (returned once); the old one keeps signing for the grace period."""
    secret = generate_secret()
    grace = timedelta(hours=current_app.config["WEBHOOK_SECRET_GRACE_HOURS"])
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = utcnow() + grace
    endpoint.secret_encrypted = crypto.encrypt(secret)
    endpoint.updated_at = utcnow()
    audit.record(org_id, actor, "endpoint.rotate_secret", "endpoint", endpoint.id,
                 {"name": endpoint.name, "grace_hours": grace.total_seconds() / 3600},
                 commit=False)
    db.session.commit()
    return secret
