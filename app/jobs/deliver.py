"""The delivery job: attempts for the ids it is given, then for whatever else is due."""
import time

from ..services import deliveries

# How long one job keeps taking due deliveries after its own before it returns.
DRAIN_SECONDS = 2.0
DRAIN_BATCH = 50


def deliver(delivery_ids):
    """Attempt these deliveries, then keep claiming due ones for a short while.

    Ids that are not due or are taken are skipped. Taking due work in batches saves the
    per-job overhead: the jobs queued for deliveries sent here find nothing to claim.
    Returns how many attempts were made.
    """
    sent = len(deliveries.attempt_many(delivery_ids))
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        due = deliveries.due_ids(DRAIN_BATCH)
        if not due:
            break
        sent += len(deliveries.attempt_many(due))
    return sent
