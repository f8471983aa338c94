"""Event ingest: validate an event, store it with its deliveries, register its project."""
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import bindparam, insert, select, text

from .. import catalog
from ..extensions import db
from ..models import Delivery, Endpoint, Event, Project, insert_or_update, utcnow
from . import (
    after_commit,
    event_schemas,
    idempotency,
    payload_filters,
    payloads,
    recordsets,
    strict_json,
    url_safety,
)

log = logging.getLogger(__name__)

# What ingest needs of an organization's live endpoints, kept by this process while the
# organization's endpoints are unchanged: each change sets a new random version in Redis
# (after its commit), and ingest compares versions, one Redis read instead of a query.
SUBSCRIBERS_VERSION = "hookline:endpoints-version:{}"
_SUBSCRIBERS = {}  # org id → (version, rows, monotonic time they were read)
SUBSCRIBERS_KEPT = 10_000
# A change made while Redis was unreachable announces no new version, so a list is read
# again after this long whatever the version says: another process matches events against
# an old list for at most this long after such a change.
SUBSCRIBERS_MAX_AGE_SECONDS = 5.0


def subscribers(org_id):
    """The organization's live endpoints with what matching an event needs (id, events,
    projects, statuses, payload filter, active flags)."""
    version = _subscribers_version(org_id)
    known = _SUBSCRIBERS.get(org_id)
    now = time.monotonic()
    if (version is not None and known is not None and known[0] == version
            and now - known[2] < SUBSCRIBERS_MAX_AGE_SECONDS):
        return known[1]
    rows = db.session.execute(
        select(Endpoint.id, Endpoint.events, Endpoint.projects, Endpoint.statuses,
               Endpoint.payload_filter, Endpoint.is_active, Endpoint.disabled_at)
        .where(Endpoint.org_id == org_id, Endpoint.deleted_at.is_(None))
    ).all()
    if version is None:
        # Changes made while Redis cannot say are not announced: once it can, read again.
        _SUBSCRIBERS.clear()
    else:
        if len(_SUBSCRIBERS) > SUBSCRIBERS_KEPT:
            _SUBSCRIBERS.clear()
        _SUBSCRIBERS[org_id] = (version, rows, now)
    return rows


def _subscribers_version(org_id):
    """The organization's endpoints version (a new one when Redis had none), or None when
    Redis cannot say: then nothing is kept and every ingest reads the database."""
    key = SUBSCRIBERS_VERSION.format(org_id)
    try:
        version = current_app.redis.get(key)
        if version is None:
            current_app.redis.set(key, secrets.token_hex(8), nx=True)
            version = current_app.redis.get(key)
    except (RedisError, OSError):
        return None
    return version


def _endpoints_changed(org_ids):
    """After a commit that changed endpoints: every process reads them again."""
    try:
        pipe = current_app.redis.pipeline()
        for org_id in set(org_ids):
            pipe.set(SUBSCRIBERS_VERSION.format(org_id), secrets.token_hex(8))
        pipe.execute()
    except (RedisError, OSError) as exc:
        # This process reads the lists again; the others within SUBSCRIBERS_MAX_AGE_SECONDS.
        _SUBSCRIBERS.clear()
        log.warning("Could not announce an endpoint change (%s); other processes see it "
                    "within %.0f s", exc, SUBSCRIBERS_MAX_AGE_SECONDS)


after_commit.register("endpoints_changed", _endpoints_changed)


class EventError(ValueError):
    """An event was refused; `field` names the part of the request at fault."""

    def __init__(self, message, field="eventType"):
        super().__init__(message)
        self.field = field


def validate(event_type, data):
    """Raise EventError unless the type is in the catalog and data is a JSON object."""
    if event_type is None or event_type == "":
        raise EventError("eventType is required", "eventType")
    if not isinstance(event_type, str) or catalog.get(event_type) is None:
        raise EventError(f"Unknown event type: {event_type!r}", "eventType")
    if not isinstance(data, dict):
        raise EventError("data must be a JSON object", "data")


def check_data(event_type, data):
    """Raise EventError naming the first failing field (`data.project.id`) unless `data`
    matches the catalog schema of `event_type`."""
    try:
        event_schemas.check(event_type, data)
    except event_schemas.DataInvalid as exc:
        raise EventError(str(exc), exc.path) from None


# Projects this process has registered or seen: events about a known project skip the
# insert (it could change nothing). Cleared when full; a miss only costs the insert.
_KNOWN_PROJECTS = set()
_KNOWN_PROJECTS_LIMIT = 10_000


def register_project(org_id, project):
    """Record data.project ({"id", "name"} or a plain id) in the organization's projects.

    Safe when concurrent events bring the same new project: the first insert wins and
    the others change nothing. Not committed: returns the project's key, for
    remember_project() once the transaction has committed (None when nothing was done).
    """
    if isinstance(project, dict):
        external_id, name = project.get("id"), project.get("name")
    else:
        external_id, name = project, None
    if not isinstance(external_id, str | int) or isinstance(external_id, bool):
        return None
    external_id = str(external_id)[:200]
    if not external_id or (org_id, external_id) in _KNOWN_PROJECTS:
        return None
    db.session.execute(
        insert_or_update(Project.__table__)
        .values(org_id=org_id, external_id=external_id, name=str(name or external_id)[:200],
                created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["org_id", "external_id"])
    )
    return org_id, external_id


def remember_project(key):
    """After the commit that registered it: later events about the project skip the insert."""
    if key is None:
        return
    if len(_KNOWN_PROJECTS) >= _KNOWN_PROJECTS_LIMIT:
        _KNOWN_PROJECTS.clear()
    _KNOWN_PROJECTS.add(key)


def list_projects(org_id):
    """The organization's known projects, by name."""
    return db.session.execute(Project.for_org(org_id).order_by(Project.name)).scalars().all()


@dataclass
class Ingested:
    """An ingested event and the ids of the deliveries this call created. A replay (an
    Idempotency-Key seen before) created none: it carries the first call's event and its
    delivery count."""

    event: Event
    event_id: str
    delivery_ids: list
    replayed: bool = False
    delivery_count: int | None = None

    def __post_init__(self):
        if self.delivery_count is None:
            self.delivery_count = len(self.delivery_ids)


def project_id(data):
    """The project an event is about: data.project.id, or data.project when it is a string."""
    project = data.get("project")
    if isinstance(project, dict):
        project = project.get("id")
    if isinstance(project, bool) or not isinstance(project, str | int):
        return None
    return str(project)


def matches(endpoint, payload):
    """Whether an endpoint wants an event, given as its default payload (a dict): the type is
    subscribed, and the project filter (not applied to Hookline's own events), the status
    filter (issue.status_changed only) and every payload filter condition hold."""
    event_type, data = payload["event_type"], payload["data"]
    if event_type not in (endpoint.events or []):
        return False
    if (endpoint.projects and event_type not in _OWN_TYPES
            and project_id(data) not in endpoint.projects):
        return False
    if (event_type == "issue.status_changed" and endpoint.statuses
            and data.get("status") not in endpoint.statuses):
        return False
    return payload_filters.first_failing(endpoint.payload_filter, payload) is None


_OWN_TYPES = frozenset(event.type for event in catalog.CATALOG if event.internal)


def ingest(org_id, event_type, data, *, schema=False, idempotency_key=None,
           skip_endpoint_id=None):
    """Store an event and one delivery per matching endpoint in one transaction, then queue.

    Deliveries for paused or disabled endpoints are recorded too and held (not queued)
    until the endpoint resumes. Redis being down does not fail ingest: the sweeper
    queues the rows later. Raises EventError for an unknown type, non-object data, data
    that is not strict JSON or whose payload would pass WEBHOOK_MAX_BODY_BYTES, and with
    `schema` for data that does not match the type's schema.

    With an `idempotency_key` seen in the last 24 hours for the same body, nothing is
    written: the first event is returned as a replay (IdempotencyKeyReused for another
    body). Concurrent calls with one key store one event. `skip_endpoint_id` gets no
    delivery whatever it subscribes to.
    """
    if idempotency_key is not None:
        _check_key(idempotency_key)
    validate(event_type, data)
    data = {"company": org_id, **{k: v for k, v in data.items() if k != "company"}}
    if schema:
        check_data(event_type, data)
    event = Event(id=str(uuid.uuid4()), org_id=org_id, type=event_type, data=data,
                  created_at=utcnow())
    envelope = payloads.envelope(event.id, event.type, event.created_at, event.data)
    payload = _payload(envelope)
    candidates = subscribers(org_id)
    chosen = [row for row in candidates
              if row.id != skip_endpoint_id and matches(row, envelope)]
    rows = [
        {
            "id": str(uuid.uuid4()),
            "org_id": org_id,
            "endpoint_id": row.id,
            "event_id": event.id,
            "event_type": event_type,
            "payload": payload,
            "status": "pending",
            "attempt_count": 0,
            "next_attempt_at": event.created_at,
            "next_trigger": "auto",
            "created_at": event.created_at,
            "updated_at": event.created_at,
        }
        for row in chosen
    ]
    if idempotency_key is not None:
        # The key's row is the first write: a concurrent request with the same key waits
        # here for this one's commit, then reads its event instead of storing another.
        replay = _claim_key(org_id, idempotency_key, event, len(rows))
        if replay is not None:
            return replay
    _insert(event, rows, payload)
    project = register_project(org_id, data["project"]) if "project" in data else None
    sending = {row.id for row in chosen if row.is_active and row.disabled_at is None}
    after_commit.add("deliver", *(r["id"] for r in rows if r["endpoint_id"] in sending))
    db.session.commit()
    remember_project(project)
    return Ingested(event, event.id, [r["id"] for r in rows])


# Plain INSERTs, built once: the ORM's unit of work costs more than the statement for one
# row, and so does building the statement again for every event.
_INSERT_EVENT = insert(Event.__table__)

# PostgreSQL: the event and its deliveries in one statement (one round trip), whatever the
# number of deliveries (they differ only in id and endpoint).
_EVENT_AND_DELIVERIES_PG = text("""
WITH event AS (
    INSERT INTO events (id, org_id, type, data, created_at)
    VALUES (:event_id, :org_id, :event_type, :data, :created_at)
)
INSERT INTO deliveries (id, org_id, endpoint_id, event_id, event_type, payload, status,
                        attempt_count, next_attempt_at, next_trigger, created_at, updated_at)
SELECT v.id, :org_id, v.endpoint_id, :event_id, :event_type, :payload, 'pending', 0,
       :created_at, 'auto', :created_at, :created_at
FROM unnest(CAST(:ids AS text[]), CAST(:endpoint_ids AS text[])) AS v(id, endpoint_id)
""").bindparams(bindparam("data", type_=Event.__table__.c.data.type),
                bindparam("created_at", type_=Event.__table__.c.created_at.type))


def _insert(event, rows, payload):
    """Store the event and its deliveries (`rows`)."""
    if rows and recordsets.on_postgresql():
        db.session.execute(_EVENT_AND_DELIVERIES_PG, {
            "event_id": event.id, "org_id": event.org_id, "event_type": event.type,
            "data": event.data, "payload": payload, "created_at": event.created_at,
            "ids": [row["id"] for row in rows],
            "endpoint_ids": [row["endpoint_id"] for row in rows],
        })
        return
    db.session.execute(_INSERT_EVENT, {
        "id": event.id, "org_id": event.org_id, "type": event.type, "data": event.data,
        "created_at": event.created_at,
    })
    if rows:
        db.session.execute(insert(Delivery.__table__), rows)


def _payload(envelope):
    """The event's default payload text, refused (EventError on data) unless it is strict
    JSON within WEBHOOK_MAX_BODY_BYTES: a delivery that could never be sent is never made."""
    try:
        payload = payloads.compact_json(envelope)
    except strict_json.JsonRefused as exc:
        raise EventError(f"data is not valid JSON: {exc}", "data") from None
    limit = current_app.config["WEBHOOK_MAX_BODY_BYTES"]
    size = len(payload.encode("utf-8"))
    if size > limit:
        raise EventError(f"The event's payload would be {size} bytes, more than the "
                         f"WEBHOOK_MAX_BODY_BYTES limit of {limit} bytes", "data")
    return payload


class IdempotencyKeyReused(EventError):
    """The Idempotency-Key was used in the last 24 hours for a different event."""


def _check_key(key):
    try:
        idempotency.check_key(key)
    except idempotency.KeyInvalid as exc:
        raise EventError(str(exc), idempotency.HEADER) from None


def _claim_key(org_id, key, event, delivery_count):
    """None when the key is this event's now; else the earlier event, as a replay."""
    fingerprint = idempotency.fingerprint(event.type, event.data)
    try:
        earlier = idempotency.claim(org_id, key, fingerprint, event.id, delivery_count,
                                    now=event.created_at)
    except idempotency.KeyReused as exc:
        db.session.rollback()
        raise IdempotencyKeyReused(str(exc), idempotency.HEADER) from None
    if earlier is None:
        return None
    db.session.rollback()
    first = db.session.execute(select_event(org_id, earlier.event_id)).scalar_one()
    return Ingested(first, first.id, [], replayed=True, delivery_count=earlier.deliveries)


def receive(org_id, event_type, data, idempotency_key=None):
    """An event from the platform (API or CLI): a catalog type the platform may send, with
    data that matches its schema; ingested (once per `idempotency_key`, see ingest()).
    Raises EventError naming the field at fault."""
    entry = catalog.get(event_type) if isinstance(event_type, str) else None
    if entry is not None and entry.internal:
        raise EventError(f"{event_type} is sent by Hookline itself, not by the platform")
    return ingest(org_id, event_type, data, schema=True, idempotency_key=idempotency_key)


def emit(org_id, event_type, data):
    """Ingest one event of Hookline's own (logins), checked against its schema; returns the
    stored Event."""
    return ingest(org_id, event_type, data, schema=True).event


STOP_EVENTS = {"disabled": "webhook.disabled", "paused": "webhook.paused"}
MAX_STOP_TEXT = 2000


def emit_endpoint_stopped(endpoint_id, kind, reason, last_error, at):
    """Tell an endpoint's organization that Hookline stopped it: webhook.disabled (kind
    'disabled': a delivery exhausted its attempts, or the receiver answered 410 Gone) or
    webhook.paused (kind 'paused': the quick policy's failure streak).

    For the delivery engine, after the transaction that stopped the endpoint committed.
    Every subscribed endpoint of the organization gets the event except the one that
    stopped. `at` (aware datetime) is when it stopped; a second call for the same stop
    (endpoint, kind and `at`) is a replay, not a second event. Returns the Ingested
    event, or None when there is no such endpoint.
    """
    if kind not in STOP_EVENTS:
        raise ValueError(f"kind must be one of {', '.join(STOP_EVENTS)}, not {kind!r}")
    if at.tzinfo is None:
        raise ValueError("at must be a timezone-aware datetime")
    endpoint = db.session.get(Endpoint, endpoint_id) if isinstance(endpoint_id, str) else None
    if endpoint is None:
        return None
    moment = payloads.iso_ms(at.astimezone(UTC))
    data = {
        # Only where the endpoint points: its full URL may be its credential, and the event
        # goes to the organization's other receivers.
        "webhook": {"id": endpoint.id, "name": endpoint.name,
                    "url": url_safety.origin(endpoint.url)},
        "reason": str(reason)[:MAX_STOP_TEXT],
        f"{kind}_at": moment,
        "last_error": None if last_error is None else _origins_only(str(last_error))[
            :MAX_STOP_TEXT],
    }
    return ingest(endpoint.org_id, STOP_EVENTS[kind], data, schema=True,
                  idempotency_key=f"hookline:{kind}:{endpoint.id}:{moment}",
                  skip_endpoint_id=endpoint.id)


_URL_IN_TEXT = re.compile(r"https?://[^\s'\"<>]+", re.IGNORECASE)


def _origins_only(text):
    """`text` with every URL in it cut to its origin (an error may quote a redirect's
    Location, which can repeat the endpoint's secret path)."""
    return _URL_IN_TEXT.sub(lambda match: url_safety.origin(match.group(0)) or "(URL)", text)


def login_data(user, user_agent, path, succeeded):
    """The `data` of user.login / user.login_failed, shaped like the catalog samples."""
    if not succeeded:
        return {"username": user.email.split("@")[0], "user_agent": user_agent, "path": path}
    first, _, last = (user.name or "").partition(" ")
    return {
        "user_id": user.id,
        "username": user.email.split("@")[0],
        "email": user.email,
        "first_name": first,
        "last_name": last,
        "user_agent": user_agent,
        "path": path,
    }


def emit_login(user, user_agent, path, succeeded):
    """Emit user.login or user.login_failed for a known user's organization."""
    event_type = "user.login" if succeeded else "user.login_failed"
    return emit(user.org_id, event_type, login_data(user, user_agent, path, succeeded))


def select_event(org_id, event_id):
    """A select() of one event of the organization."""
    return select(Event).where(Event.org_id == org_id, Event.id == event_id)
