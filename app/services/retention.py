"""Retention: purge deliveries and attempts older than WEBHOOK_RETENTION_DAYS, in batches, and
idempotency keys older than their 24-hour window."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, exists, select

from ..extensions import db
from ..models import Attempt, Delivery, Event, Organization, utcnow
from . import idempotency

BATCH_SIZE = 5000


def cutoff(now=None, days=None):
    """The moment before which history is purged."""
    days = current_app.config["WEBHOOK_RETENTION_DAYS"] if days is None else days
    return (now or utcnow()) - timedelta(days=days)


def _purge_deliveries(org_id, before, batch_size):
    removed = 0
    # Oldest first through ix_deliveries_org_created: each batch is an index range scan.
    oldest = (
        select(Delivery.id)
        .where(Delivery.org_id == org_id, Delivery.created_at < before)
        .order_by(Delivery.created_at)
        .limit(batch_size)
    )
    while True:
        ids = db.session.execute(oldest).scalars().all()
        if not ids:
            return removed
        db.session.execute(delete(Attempt).where(Attempt.delivery_id.in_(ids)))
        db.session.execute(delete(Delivery).where(Delivery.id.in_(ids)))
        # One short transaction per batch keeps locks brief on a busy table.
        db.session.commit()
        removed += len(ids)


def _purge_events(before, batch_size):
    removed = 0
    orphan = select(Event.id).where(
        Event.created_at < before, ~exists().where(Delivery.event_id == Event.id)
    )
    while True:
        ids = db.session.execute(orphan.limit(batch_size)).scalars().all()
        if not ids:
            return removed
        db.session.execute(delete(Event).where(Event.id.in_(ids)))
        db.session.commit()
        removed += len(ids)


def purge(now=None, days=None, batch_size=BATCH_SIZE):
    """Delete attempts, then deliveries, then events left without deliveries, all older than
    the retention period, one batch per transaction; then idempotency keys past their
    window. Endpoint counters and the daily series are left alone, so statistics stay
    right. Returns {"deliveries": n, "events": m, "idempotency_keys": k}."""
    before = cutoff(now, days)
    org_ids = db.session.execute(select(Organization.id)).scalars().all()
    return {
        "deliveries": sum(_purge_deliveries(org_id, before, batch_size) for org_id in org_ids),
        "events": _purge_events(before, batch_size),
        "idempotency_keys": idempotency.purge(now),
    }
