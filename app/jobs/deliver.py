"""The delivery job: attempts for the ids it is given, then for whatever else is due."""
from ..services.dispatch import Dispatcher
from .enqueue import idle_waiter, job_started

# How long one job keeps taking due deliveries after its own before it returns (it returns
# sooner once nothing is due: at once in a burst worker, after waiting for more in a
# long-running one).
DRAIN_SECONDS = 10.0


def deliver(delivery_ids):
    """Attempt these deliveries, then keep taking due ones, fairly, for up to DRAIN_SECONDS.

    Ids that are not due or are taken are skipped. Taking due work saves the per-job
    overhead: jobs queued for deliveries sent here find nothing to claim, and deliveries made
    while a job waits in the queue get no job of their own (see enqueue.JOB_WAITING). While
    more is due than this job takes, it makes sure another job waits, so an idle worker
    joins in. In a long-running worker it waits a while for more before it ends (see
    enqueue.IdleWaiter). Returns how many attempts were made.
    """
    job_started()
    return Dispatcher().run(delivery_ids, DRAIN_SECONDS, waiter=idle_waiter())
