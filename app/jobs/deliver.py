"""The delivery job: attempts for the ids it is given, then for whatever else is due."""
import time

from ..services import deliveries
from .enqueue import job_started, request_drain

# How long one job keeps taking due deliveries after its own before it returns.
DRAIN_SECONDS = 2.0
DRAIN_BATCH = 50


def deliver(delivery_ids):
    """Attempt these deliveries, then keep claiming due ones for a short while.

    Ids that are not due or are taken are skipped. Taking due work in batches saves the
    per-job overhead: the jobs queued for deliveries sent here find nothing to claim, and
    deliveries made while a job waits in the queue get no job of their own (see
    enqueue.JOB_WAITING). While more is due than this job is taking, it makes sure another
    job waits, so an idle worker joins in and the work outlives this job's time.
    Returns how many attempts were made.
    """
    job_started()
    sent = len(deliveries.attempt_many(delivery_ids)) if delivery_ids else 0
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        due = deliveries.due_ids(DRAIN_BATCH)
        if not due:
            return sent
        request_drain()
        sent += len(deliveries.attempt_many(due))
        if time.monotonic() >= deadline:
            return sent
