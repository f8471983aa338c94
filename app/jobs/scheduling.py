"""The one place that talks to rq-scheduler: retries at a time, periodic jobs by stable id."""
import logging
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


def scheduler():
    return Scheduler(
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
        # rq-scheduler keeps whole seconds and would otherwise queue the job before it is due.
        when = when.replace(microsecond=0) + timedelta(seconds=1)
    try:
        scheduler().enqueue_at(when, DELIVER, [delivery_id], job_result_ttl=0)
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
