"""Reading the audit log: filters and newest-first pages for the admin page."""
from sqlalchemy import select

from ..extensions import db
from ..models import ApiToken, AuditEntry, Endpoint
from .history import parse_moment

PAGE_SIZE = 50
MAX_FILTER = 254


def read_filters(args):
    """action, actor, from, to from a mapping; returns (filters dict, errors dict)."""
    filters, errors = {}, {}
    for name in ("action", "actor"):
        value = (args.get(name) or "").replace("\x00", "").strip()
        if len(value) > MAX_FILTER:
            errors[name] = f"{name!r} must be at most {MAX_FILTER} characters"
        elif value:
            filters[name] = value
    for name, end_of_day in (("from", False), ("to", True)):
        text = (args.get(name) or "").strip()
        if not text:
            continue
        try:
            filters[name] = parse_moment(text, end_of_day=end_of_day)
        except (ValueError, OverflowError):
            errors[name] = f"{name!r} must be an ISO-8601 date or date-time, e.g. 2025-01-15"
    return filters, errors


def actions(org_id):
    """The distinct actions recorded in the organization, for the filter select."""
    statement = (
        select(AuditEntry.action).where(AuditEntry.org_id == org_id).distinct()
        .order_by(AuditEntry.action)
    )
    return db.session.execute(statement).scalars().all()


def target_names(org_id, rows):
    """{(target type, target id): name} for the endpoints and tokens the rows point at, so the
    page names them instead of showing raw ids (two queries at most)."""
    wanted = {}
    for row in rows:
        if row.target_type in ("endpoint", "token") and row.target_id:
            wanted.setdefault(row.target_type, set()).add(row.target_id)
    names = {}
    if wanted.get("endpoint"):
        found = db.session.execute(
            select(Endpoint.id, Endpoint.name, Endpoint.deleted_at)
            .where(Endpoint.org_id == org_id, Endpoint.id.in_(wanted["endpoint"]))
        ).all()
        names.update({("endpoint", row.id): (row.name, row.deleted_at is None) for row in found})
    token_ids = [int(i) for i in wanted.get("token", ()) if i.isdigit() and len(i) < 18]
    if token_ids:
        found = db.session.execute(
            select(ApiToken.id, ApiToken.name)
            .where(ApiToken.org_id == org_id, ApiToken.id.in_(token_ids))
        ).all()
        names.update({("token", str(row.id)): (row.name, False) for row in found})
    return names


def entries(org_id, filters, before_id=None, limit=PAGE_SIZE):
    """One page of audit rows, newest first; returns (rows, id to continue before or None)."""
    statement = AuditEntry.for_org(org_id)
    if "action" in filters:
        statement = statement.where(AuditEntry.action == filters["action"])
    if "actor" in filters:
        statement = statement.where(AuditEntry.actor_name.contains(filters["actor"],
                                                                  autoescape=True))
    if "from" in filters:
        statement = statement.where(AuditEntry.created_at >= filters["from"])
    if "to" in filters:
        statement = statement.where(AuditEntry.created_at < filters["to"])
    if before_id is not None:
        statement = statement.where(AuditEntry.id < before_id)
    statement = statement.order_by(AuditEntry.id.desc()).limit(limit + 1)
    rows = db.session.execute(statement).scalars().all()
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], rows[limit - 1].id
