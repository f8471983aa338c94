"""The one place that talks to rq-scheduler: retries at a time, periodic jobs by stable id."""
import logging
import time
from datetime import UTC, datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq_scheduler import Scheduler

from .enqueue import DELIVER

log = logging.getLogger(__name__)

# (stable id, dotted function path, setting holding its interval in seconds); other
# modules append their periodic jobs here.
PERIODIC_JOBS = [
    ("hookline-sweeper", "app.jobs.sweeper.sweep", "WEBHOOK_SWEEP_SECONDS"),
    ("hookline-retention", "app.jobs.retention.purge_history", "WEBHOOK_PURGE_SECONDS"),
]


class _Scheduler(Scheduler):
    """rq-scheduler, reading due times to the millisecond.

    rq-scheduler keeps whole seconds and queues what is due by the current whole second, so
    a retry due at hh:mm:02.4 went out at :03 (its time rounded up, so as never to be early):
    up to a second late. schedule_attempt keeps the exact time, and this queues by it: a
    retry goes out within one scheduler interval of its time.
    """

    def get_jobs_to_queue(self, with_times=False):
        return self.get_jobs(time.time(), with_times=with_times)


def scheduler():
    return _Scheduler(
        queue=current_app.task_queue,
        connection=current_app.redis,
        interval=current_app.config["WEBHOOK_SCHEDULER_INTERVAL"],
    )


def to_naive_utc(moment):
    """rq-scheduler works in naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def schedule_attempt(delivery_id, at):
    """Have rq-scheduler queue an attempt of the delivery at `at` (aware UTC).

    Never raises when Redis is unreachable: the delivery's next_attempt_at is in the
    database and the sweeper queues it once it is due.
    """
    when = to_naive_utc(at)
    if when.microsecond:
        # rq-scheduler keeps whole seconds: rounded up, the job is never queued early.
        when = when.replace(microsecond=0) + timedelta(seconds=1)
    try:
        target = scheduler()
        job = target.enqueue_at(when, DELIVER, [delivery_id], job_result_ttl=0)
        # Then the exact time (see _Scheduler), unless the job has been queued already.
        target.connection.zadd(target.scheduled_jobs_key, {job.id: at.timestamp()}, xx=True)
    except (RedisError, OSError) as exc:
        log.warning("Could not schedule delivery %s (%s); the sweeper will", delivery_id, exc)


def register_periodic_jobs(target=None):
    """Schedule every periodic job under its stable id; running it again changes nothing."""
    target = target or scheduler()
    for job_id, func, setting in PERIODIC_JOBS:
        if job_id in target:
            target.cancel(job_id)
        target.schedule(
            scheduled_time=to_naive_utc(datetime.now(UTC)),
            func=func,
            interval=current_app.config[setting],
            repeat=None,
            id=job_id,
            # Kept after each run: rq-scheduler drops a periodic job whose hash is gone, so
            # a result_ttl of 0 (the job deleted when done) would make it run only once.
            result_ttl=-1,
        )
