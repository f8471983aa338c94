"""Delivery history: filters, keyset pagination, recent attempts and one delivery in detail."""
import base64
import binascii
import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import joinedload

from .. import catalog
from ..extensions import db
from ..models import DELIVERY_STATUSES, Attempt, Delivery, Endpoint, Project

PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
RETRYABLE = ("failed", "exhausted")
ID_PATTERN = re.compile(r"[0-9A-Fa-f-]{1,36}")
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_QUERY = 200


def is_id(text):
    """Whether `text` can be a delivery or endpoint id (a UUID); anything else matches no row
    and is never sent to the database."""
    return isinstance(text, str) and ID_PATTERN.fullmatch(text) is not None


class FilterError(ValueError):
    """Filter values that cannot be used; `fields` maps each query name to its message."""

    def __init__(self, fields):
        super().__init__("; ".join(fields.values()))
        self.fields = fields


class CursorError(ValueError):
    """A pagination cursor that this server did not hand out."""


@dataclass(frozen=True)
class HistoryFilters:
    """The history and export filters, already checked; None means "any"."""

    start: datetime | None = None
    end: datetime | None = None  # exclusive
    event_type: str | None = None
    status: str | None = None
    endpoint_id: str | None = None
    # Search text: a delivery, event or endpoint id, or part of an endpoint's name.
    query: str | None = None

    def as_dict(self):
        """The filters as JSON-friendly values (for audit rows and background jobs)."""
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(self).items()
            if value is not None
        }

    @classmethod
    def from_dict(cls, values):
        """The inverse of as_dict()."""
        values = dict(values)
        for key in ("start", "end"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        return cls(**values)


def parse_moment(text, *, end_of_day=False):
    """ISO-8601 datetime (UTC if no offset) or a date; a date as an end bound means the next
    midnight. Raises ValueError."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        if end_of_day:
            day += timedelta(days=1)
        return datetime.combine(day, time(), tzinfo=UTC)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    # An end given to the microsecond is inclusive; the query bound is exclusive.
    return moment + timedelta(microseconds=1) if end_of_day else moment


class FutureTimeError(ValueError):
    """A time that has not come yet where only a past one makes sense."""


def replay_since(text, now=None):
    """The moment a replay starts from: ISO-8601 (UTC if no offset), not in the future.
    Raises ValueError (FutureTimeError for a future time) with a message for the user."""
    try:
        if not isinstance(text, str) or not text.strip():
            raise ValueError
        since = parse_moment(text)
    except (ValueError, OverflowError):
        raise ValueError("since must be an ISO-8601 date-time, e.g. 2025-01-15T14:30:00Z") \
            from None
    if since > (now or datetime.now(UTC)):
        raise FutureTimeError("since must not be in the future: nothing was delivered after now")
    return since


def read_filters(org_id, args):
    """Read from/to/eventType/status/webhook/q from a mapping; returns (HistoryFilters, errors)
    where invalid values are left out of the filters and explained in `errors`."""
    values, errors = {}, {}
    query = (args.get("q") or "").replace("\x00", "").strip()
    if len(query) > MAX_QUERY:
        errors["q"] = f"The search text must be at most {MAX_QUERY} characters"
    elif query:
        values["query"] = query
    for name, key, end_of_day in (("from", "start", False), ("to", "end", True)):
        text = (args.get(name) or "").strip()
        if not text:
            continue
        try:
            values[key] = parse_moment(text, end_of_day=end_of_day)
        except (ValueError, OverflowError):
            errors[name] = f"{name!r} must be an ISO-8601 date or date-time, e.g. 2025-01-15"
    if "start" in values and "end" in values and values["start"] >= values["end"]:
        errors["to"] = "'to' must be after 'from'"
        del values["end"]
    event_type = (args.get("eventType") or "").strip()
    if event_type:
        if catalog.get(event_type) is None:
            errors["eventType"] = f"Unknown event type: {event_type[:100]!r}"
        else:
            values["event_type"] = event_type
    status = (args.get("status") or "").strip()
    if status:
        if status not in DELIVERY_STATUSES:
            errors["status"] = "status must be one of " + ", ".join(DELIVERY_STATUSES)
        else:
            values["status"] = status
    webhook = (args.get("webhook") or "").strip()
    if webhook:
        found = None
        if is_id(webhook):
            found = db.session.execute(
                select(Endpoint.id).where(Endpoint.org_id == org_id, Endpoint.id == webhook)
            ).scalar_one_or_none()
        if found is None:
            errors["webhook"] = "No such webhook in this organization"
        else:
            values["endpoint_id"] = found
    return HistoryFilters(**values), errors


def filtered(org_id, filters, statement=None):
    """Apply the filters to a select over Delivery (default: select(Delivery) of the org)."""
    statement = Delivery.for_org(org_id) if statement is None else statement.where(
        Delivery.org_id == org_id
    )
    if filters.start is not None:
        statement = statement.where(Delivery.created_at >= filters.start)
    if filters.end is not None:
        statement = statement.where(Delivery.created_at < filters.end)
    if filters.event_type is not None:
        statement = statement.where(Delivery.event_type == filters.event_type)
    if filters.status is not None:
        statement = statement.where(Delivery.status == filters.status)
    if filters.endpoint_id is not None:
        statement = statement.where(Delivery.endpoint_id == filters.endpoint_id)
    if filters.query is not None:
        statement = statement.where(_search(org_id, filters.query))
    return statement


def _search(org_id, query):
    """Deliveries that `query` finds: an id (delivery, event or endpoint) when it is a whole
    UUID, else the endpoints whose name contains it (any case). Each branch uses an index:
    the primary key, ix_deliveries_event_id, ix_deliveries_endpoint_created."""
    lowered = query.lower()
    if UUID_PATTERN.fullmatch(lowered):
        return or_(Delivery.id == lowered, Delivery.event_id == lowered,
                   Delivery.endpoint_id == lowered)
    named = select(Endpoint.id).where(
        Endpoint.org_id == org_id,
        func.lower(Endpoint.name).contains(lowered, autoescape=True),
    )
    return Delivery.endpoint_id.in_(named)


def encode_cursor(created_at, delivery_id):
    """An opaque cursor for the row after which the next page starts."""
    raw = f"{created_at.astimezone(UTC).isoformat()}|{delivery_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor):
    """(created_at, id) from a cursor; raises CursorError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, delivery_id = raw.split("|")
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None or not is_id(delivery_id):
            raise ValueError("not a cursor of this server")
        return created_at.astimezone(UTC), delivery_id
    except (binascii.Error, UnicodeError, ValueError, OverflowError) as exc:
        raise CursorError("Invalid cursor") from exc


def page_statement(org_id, filters, cursor=None, limit=PAGE_SIZE):
    """The history query: one more row than `limit` after the cursor's key, newest first.
    Keyset over (created_at, id) walks ix_deliveries_org_created: constant cost at any depth.
    Raises CursorError for a bad cursor."""
    statement = filtered(org_id, filters).options(joinedload(Delivery.endpoint))
    if cursor:
        created_at, delivery_id = decode_cursor(cursor)
        statement = statement.where(
            tuple_(Delivery.created_at, Delivery.id) < tuple_(created_at, delivery_id)
        )
    return statement.order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit + 1)


def history_page(org_id, filters, cursor=None, limit=PAGE_SIZE):
    """One page of deliveries, newest first, with their endpoints loaded; returns
    (deliveries, next_cursor or None). Raises CursorError for a bad cursor."""
    rows = db.session.execute(page_statement(org_id, filters, cursor, limit)).scalars().all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].id)


def count_retryable(org_id, filters):
    """How many failed or exhausted deliveries the filters select."""
    statement = filtered(org_id, filters, select(func.count()).select_from(Delivery))
    return db.session.execute(statement.where(Delivery.status.in_(RETRYABLE))).scalar_one()


def retryable_ids(org_id, filters, after=None, limit=500):
    """The next batch of failed/exhausted delivery ids under the filters, newest first, after
    the (created_at, id) key `after`; returns (ids, key of the last one or None)."""
    statement = filtered(org_id, filters, select(Delivery.id, Delivery.created_at)).where(
        Delivery.status.in_(RETRYABLE)
    )
    if after is not None:
        statement = statement.where(tuple_(Delivery.created_at, Delivery.id) < tuple_(*after))
    statement = statement.order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit)
    rows = db.session.execute(statement).all()
    if not rows:
        return [], None
    return [row.id for row in rows], (rows[-1].created_at, rows[-1].id)


def endpoint_choices(org_id):
    """Every endpoint of the organization for the webhook filter, deleted ones marked; a
    name that several endpoints share is followed by each one's URL."""
    rows = db.session.execute(
        select(Endpoint.id, Endpoint.name, Endpoint.url, Endpoint.deleted_at)
        .where(Endpoint.org_id == org_id)
        .order_by(Endpoint.deleted_at.is_not(None), Endpoint.name)
    ).all()
    names = [row.name.lower() for row in rows]
    choices = []
    for row in rows:
        label = row.name
        if names.count(row.name.lower()) > 1:
            label += f" · {row.url[:80]}"
        choices.append((row.id, label + (" (deleted)" if row.deleted_at else "")))
    return choices


def project_names(org_id, external_ids):
    """[(project id, name)] for these ids of the organization, in the order given; an id
    not registered (yet) is its own name."""
    if not external_ids:
        return []
    known = dict(db.session.execute(
        select(Project.external_id, Project.name)
        .where(Project.org_id == org_id, Project.external_id.in_(list(external_ids)))
    ).all())
    return [(external_id, known.get(external_id, external_id)) for external_id in external_ids]


def recent_attempts(org_id, endpoint_id, limit=PAGE_SIZE):
    """The most recent attempts of one endpoint, newest first, each with its delivery."""
    statement = (
        select(Attempt, Delivery)
        .join(Delivery, Delivery.id == Attempt.delivery_id)
        .where(Attempt.endpoint_id == endpoint_id, Attempt.org_id == org_id)
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
        .limit(limit)
    )
    return db.session.execute(statement).all()


def recent_deliveries(org_id, endpoint_id, limit=PAGE_SIZE):
    """The most recent deliveries of one endpoint, newest first."""
    statement = (
        Delivery.for_org(org_id)
        .where(Delivery.endpoint_id == endpoint_id)
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return db.session.execute(statement).scalars().all()


def get_delivery(org_id, delivery_id):
    """One delivery of the organization with its endpoint loaded, or None: as stored now,
    even when the session already holds an older copy of it (a worker may have just
    recorded an attempt)."""
    if not is_id(delivery_id):
        return None
    statement = (
        Delivery.for_org(org_id)
        .where(Delivery.id == delivery_id)
        .options(joinedload(Delivery.endpoint))
        .execution_options(populate_existing=True)
    )
    return db.session.execute(statement).scalar_one_or_none()


def attempts_of(delivery):
    """A delivery's attempts in order."""
    statement = (
        select(Attempt)
        .where(Attempt.delivery_id == delivery.id, Attempt.org_id == delivery.org_id)
        .order_by(Attempt.number, Attempt.id)
    )
    return db.session.execute(statement).scalars().all()


def live_endpoints(org_id):
    """The organization's live endpoints by name (the statistics page's rows)."""
    statement = Endpoint.for_org(org_id).order_by(Endpoint.name, Endpoint.id)
    return db.session.execute(statement).scalars().all()
