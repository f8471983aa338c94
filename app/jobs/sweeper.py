"""The sweeper: queue again every delivery that is due but has no job (the database decides)."""
from flask import current_app

from ..services.deliveries import due_ids
from .enqueue import enqueue_deliveries

LIMIT = 10_000


def sweep(grace_seconds=None):
    """Enqueue deliveries due for longer than the grace period whose lease has expired.

    The grace period (default WEBHOOK_SWEEP_SECONDS) leaves fresh work to the jobs already
    queued; a job that still exists finds nothing to claim, so a second one is harmless.
    Paused and disabled endpoints' deliveries wait. Returns how many deliveries were queued.
    """
    if grace_seconds is None:
        grace_seconds = current_app.config["WEBHOOK_SWEEP_SECONDS"]
    ids = due_ids(LIMIT, grace_seconds=grace_seconds)
    return len(ids) if enqueue_deliveries(ids, always=True) else 0
