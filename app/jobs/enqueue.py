"""Enqueue delivery jobs after commit, in batches; Redis trouble never fails the caller."""
import logging

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
# Set while a delivery job waits in the queue, not yet started. That job, once started, takes
# whatever else is due too, so new deliveries need no job of their own meanwhile: a busy event
# stream makes a few jobs, not one per event. The expiry bounds what a lost job can delay;
# the sweeper does not look at the flag.
JOB_WAITING = "hookline:deliver-job-waiting"
JOB_WAITING_SECONDS = 5


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


def _enqueue(jobs, always, count):
    redis = current_app.redis
    try:
        if always:
            redis.set(JOB_WAITING, 1, ex=JOB_WAITING_SECONDS)
        elif not redis.set(JOB_WAITING, 1, nx=True, ex=JOB_WAITING_SECONDS):
            return 0
        current_app.task_queue.enqueue_many(jobs)
    except (RedisError, OSError) as exc:
        log.warning("Could not queue %d deliveries (%s); the sweeper will", count, exc)
        return 0
    return len(jobs)
