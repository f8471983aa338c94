"""Reading the audit log: filters and newest-first pages for the admin page."""
from sqlalchemy import select

from ..extensions import db
from ..models import AuditEntry
from .history import parse_moment

PAGE_SIZE = 50


def read_filters(args):
    """action, actor, from, to from a mapping; returns (filters dict, errors dict)."""
    filters, errors = {}, {}
    for name in ("action", "actor"):
        value = (args.get(name) or "").replace("\x00", "").strip()[:254]
        if value:
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
