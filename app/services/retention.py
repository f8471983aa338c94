"""Retention: purge final deliveries (and their attempts) older than WEBHOOK_RETENTION_DAYS,
in batches, and idempotency keys older than their 24-hour window. Deliveries that are not
final (held for a paused endpoint, failed and waiting for a retry) are kept whatever their
age: purging them would lose a delivery."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, exists, select, tuple_

from ..extensions import db
from ..models import Delivery, Event, Organization, utcnow
from . import idempotency, stats
from .delivery_state import FINAL

BATCH_SIZE = 5000


def cutoff(now=None, days=None):
    """The moment before which history is purged."""
    days = current_app.config["WEBHOOK_RETENTION_DAYS"] if days is None else days
    return (now or utcnow()) - timedelta(days=days)


def _purge_deliveries(org_id, before, batch_size):
    removed, after = 0, None
    while True:
        # Oldest first through ix_deliveries_org_created, resuming after the last row seen,
        # so deliveries kept (not final) are read once per pass, not once per batch.
        query = select(Delivery.id, Delivery.created_at, Delivery.status).where(
            Delivery.org_id == org_id, Delivery.created_at < before
        )
        if after is not None:
            query = query.where(tuple_(Delivery.created_at, Delivery.id) > after)
        rows = db.session.execute(
            query.order_by(Delivery.created_at, Delivery.id).limit(batch_size)
        ).all()
        if not rows:
            db.session.commit()
            return removed
        after = (rows[-1].created_at, rows[-1].id)
        final = [row.id for row in rows if row.status in FINAL]
        if final:
            # The status is checked again: a delivery retried meanwhile is not final any more.
            # Its attempts go with it (ON DELETE CASCADE).
            removed += db.session.execute(
                delete(Delivery)
                .where(Delivery.id.in_(final), Delivery.status.in_(FINAL))
                .execution_options(synchronize_session=False)
            ).rowcount
        # One short transaction per batch keeps locks brief on a busy table.
        db.session.commit()


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
    """Delete final deliveries with their attempts, then events left without deliveries, all
    older than the retention period, one batch per transaction; then idempotency keys past
    their window and kept hourly delivery counts older than any statistics range. Endpoint
    counters, the daily series and the newer hour counts are left alone, so statistics stay
    right. Returns {"deliveries": n, "events": m, "idempotency_keys": k, "hour_counts": h}."""
    before = cutoff(now, days)
    org_ids = db.session.execute(select(Organization.id)).scalars().all()
    return {
        "deliveries": sum(_purge_deliveries(org_id, before, batch_size) for org_id in org_ids),
        "events": _purge_events(before, batch_size),
        "idempotency_keys": idempotency.purge(now),
        "hour_counts": stats.forget_hour_counts(now),
    }
