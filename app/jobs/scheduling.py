"""The one place that talks to rq-scheduler: retries at a time, periodic jobs by stable id."""
from datetime import UTC

from flask import current_app
from rq_scheduler import Scheduler

# (stable id, dotted function path, setting holding its interval in seconds)
PERIODIC_JOBS = []


def scheduler():
    return Scheduler(
        queue=current_app.task_queue,
        connection=current_app.redis,
        interval=current_app.config["WEBHOOK_SCHEDULER_INTERVAL"],
    )


def to_naive_utc(moment):
    """rq-scheduler works in naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def register_periodic_jobs(target=None):
    """Schedule every periodic job under its stable id; running it again changes nothing."""
    target = target or scheduler()
    from datetime import datetime

    for job_id, func, setting in PERIODIC_JOBS:
        if job_id in target:
            target.cancel(job_id)
        target.schedule(
            scheduled_time=to_naive_utc(datetime.now(UTC)),
            func=func,
            interval=current_app.config[setting],
            repeat=None,
            id=job_id,
            result_ttl=0,
        )
