"""The sweeper: queue again every delivery that is due but has no job (the database decides)."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import exists, or_, select

from ..extensions import db
from ..models import Delivery, Endpoint, utcnow
from .enqueue import enqueue_deliveries

LIMIT = 10_000


def sweep(grace_seconds=None):
    """Enqueue deliveries due for longer than the grace period whose lease has expired.

    The grace period (default WEBHOOK_SWEEP_SECONDS) leaves fresh work to the jobs already
    queued; a job that still exists finds nothing to claim, so a second one is harmless.
    Returns how many deliveries were queued.
    """
    if grace_seconds is None:
        grace_seconds = current_app.config["WEBHOOK_SWEEP_SECONDS"]
    now = utcnow()
    endpoint_live = select(Endpoint.id).where(
        Endpoint.id == Delivery.endpoint_id, Endpoint.deleted_at.is_(None)
    )
    endpoint_sending = endpoint_live.where(
        Endpoint.is_active.is_(True), Endpoint.disabled_at.is_(None)
    )
    ids = db.session.execute(
        select(Delivery.id)
        .where(
            Delivery.status.in_(("pending", "failed")),
            Delivery.next_attempt_at <= now - timedelta(seconds=grace_seconds),
            or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
            or_(
                exists(endpoint_sending),
                Delivery.next_trigger.in_(("manual", "test")) & exists(endpoint_live),
            ),
        )
        .order_by(Delivery.next_attempt_at, Delivery.created_at)
        .limit(LIMIT)
    ).scalars().all()
    db.session.commit()
    return len(ids) if enqueue_deliveries(ids) else 0
