"""Enqueue delivery jobs after commit, in batches; Redis trouble never fails the caller."""
import logging
import time

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue

log = logging.getLogger(__name__)

# Deliveries per job: one job carries a few ids so per-job overhead is paid once per batch.
BATCH_SIZE = 50
# Jobs queued for one call at most: each job goes on to take whatever else is due, so the
# ids beyond these (an event to many endpoints) are sent by the jobs that start first,
# without a queue of jobs that would find their deliveries sent already.
JOBS_PER_CALL = 4
DELIVER = "app.jobs.deliver.deliver"
# Set while a delivery job waits in the queue, not yet started, or waits for work in a
# long-running worker (IdleWaiter). That job takes whatever else is due too, so new
# deliveries need no job of their own meanwhile: a busy event stream makes a few jobs, not
# one per event. The expiry bounds what a lost job can delay; the sweeper does not look at
# the flag.
JOB_WAITING = "hookline:deliver-job-waiting"
JOB_WAITING_SECONDS = 5
# News of new deliveries for a delivery job that waits for work (IdleWaiter): one entry is
# enough, the job that wakes looks for everything due.
NEWS = "hookline:deliveries-news"
# A waiting job looks again at least this often (a retry coming due is announced by nobody),
# and marks itself as waiting (JOB_WAITING) for a little longer each time.
IDLE_LOOK_SECONDS = 0.25
IDLE_FLAG_SECONDS = 1


def enqueue_deliveries(ids, always=False, urgent=False):
    """Queue attempts for these delivery ids (in order); returns how many jobs were queued.

    At most JOBS_PER_CALL jobs of BATCH_SIZE ids are queued; the rest are due and those jobs
    take them after their own. Nothing is queued while a delivery job is already waiting (it
    will take these ids too), unless `always` or `urgent`; `urgent` work (a person is waiting
    for it: a test send, a retry) goes to the front of the queue. When Redis is unreachable
    this logs and returns 0: the rows are in the database and the sweeper queues them again.
    """
    ids = list(ids)
    if not ids:
        return 0
    jobs = [
        Queue.prepare_data(DELIVER, args=(ids[start:start + BATCH_SIZE],), result_ttl=0,
                           at_front=urgent)
        for start in range(0, min(len(ids), BATCH_SIZE * JOBS_PER_CALL), BATCH_SIZE)
    ]
    return _enqueue(jobs, always or urgent, len(ids))


def request_drain(always=False, jobs=1):
    """Make sure delivery jobs will look for due deliveries soon; returns jobs queued."""
    return _enqueue(
        [Queue.prepare_data(DELIVER, args=([],), result_ttl=0) for _ in range(jobs)], always, 0
    )


def job_started():
    """Called by a delivery job as it starts: no job is waiting any more (best effort)."""
    try:
        current_app.redis.delete(JOB_WAITING)
    except (RedisError, OSError):
        pass


class IdleWaiter:
    """How a delivery job in a long-running worker waits for work once nothing is due.

    While it waits it counts as the waiting job (JOB_WAITING), so new deliveries queue no job
    of their own: ingest announces them on NEWS, which wakes it. Under a steady stream one
    job serves every event; ended at once, each event's deliveries needed a job of their own
    (about 3 ms of a worker's CPU in RQ's bookkeeping alone), and two workers' new jobs raced
    to claim the same deliveries. It stops waiting when anything else waits in the queue for
    a worker, so other jobs are not held up.
    """

    def __init__(self, idle_seconds):
        self.idle_seconds = idle_seconds
        self.flagged = False

    def wait(self, seconds):
        """Wait up to `seconds` (at most IDLE_LOOK_SECONDS) for news; True when it waited
        (the job looks again), False when the job should stop waiting."""
        seconds = min(IDLE_LOOK_SECONDS, seconds)
        if seconds < 0.01:
            return False
        redis = current_app.redis
        try:
            pipe = redis.pipeline(transaction=False)
            pipe.set(JOB_WAITING, 1, ex=IDLE_FLAG_SECONDS)
            pipe.llen(current_app.task_queue.key)
            _, queued = pipe.execute()
            self.flagged = True
            if queued:
                return False
            redis.blpop([NEWS], timeout=seconds)
        except (RedisError, OSError):
            time.sleep(seconds)  # without Redis no job is queued either: the looks find work
        return True

    def done(self):
        """No longer waiting: new deliveries queue a job again (best effort)."""
        if self.flagged:
            self.flagged = False
            job_started()


def idle_waiter():
    """The waiter of this process's delivery jobs, or None when they end as soon as nothing
    is due (burst workers: tests and one-off runs)."""
    seconds = current_app.config.get("DELIVERY_JOB_IDLE_SECONDS", 0)
    return IdleWaiter(seconds) if seconds > 0 else None


def _enqueue(jobs, always, count):
    redis = current_app.redis
    try:
        # The news for a job waiting for work and the flag of a waiting job, in one round
        # trip.
        pipe = redis.pipeline(transaction=False)
        pipe.lpush(NEWS, 1)
        pipe.ltrim(NEWS, 0, 0)
        pipe.expire(NEWS, JOB_WAITING_SECONDS)
        pipe.set(JOB_WAITING, 1, ex=JOB_WAITING_SECONDS, nx=not always)
        if not pipe.execute()[-1]:
            return 0
        current_app.task_queue.enqueue_many(jobs)
    except (RedisError, OSError) as exc:
        log.warning("Could not queue %d deliveries (%s); the sweeper will", count, exc)
        return 0
    return len(jobs)
