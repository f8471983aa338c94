"""The sweeper: the database decides what is due; this makes sure a job goes looking for it."""
import math
from datetime import timedelta

from flask import current_app

from ..models import utcnow
from ..services import delivery_state, due_work
from ..services.dispatch import FILL
from .enqueue import request_drain

# Delivery jobs queued by one sweep, at most: each keeps taking due work and asks for more.
MAX_JOBS = 4


def sweep(grace_seconds=None):
    """Queue delivery jobs when deliveries have been due for longer than the grace period
    with nobody sending them (lost Redis state, a crashed worker), and cancel what a crash
    left waiting for a deleted endpoint.

    The grace period (default WEBHOOK_SWEEP_SECONDS) leaves fresh work to the jobs already
    queued; a job that finds nothing to claim returns at once, so an extra one is harmless.
    Paused and disabled endpoints' deliveries wait. Returns how many overdue deliveries
    were found.
    """
    if grace_seconds is None:
        grace_seconds = current_app.config["WEBHOOK_SWEEP_SECONDS"]
    delivery_state.cancel_orphans()
    now = utcnow()
    overdue = due_work.overdue_count(now, now - timedelta(seconds=grace_seconds))
    if overdue:
        request_drain(always=True, jobs=min(MAX_JOBS, math.ceil(overdue / FILL)))
    return overdue
