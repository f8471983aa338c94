"""Enqueue delivery attempts after commit, in batches; Redis trouble never fails the caller."""
import logging

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue

log = logging.getLogger(__name__)

# Deliveries per job: one job carries a few ids so per-job overhead is paid once per batch.
BATCH_SIZE = 20
DELIVER = "app.jobs.deliver.deliver"


def enqueue_deliveries(ids):
    """Queue attempts for these delivery ids (in order); returns how many jobs were queued.

    When Redis is unreachable this logs and returns 0: the rows are in the database and
    the sweeper queues them again.
    """
    ids = list(ids)
    if not ids:
        return 0
    jobs = [
        Queue.prepare_data(DELIVER, args=(ids[start:start + BATCH_SIZE],), result_ttl=0)
        for start in range(0, len(ids), BATCH_SIZE)
    ]
    try:
        current_app.task_queue.enqueue_many(jobs)
    except (RedisError, OSError) as exc:
        log.warning("Could not queue %d deliveries (%s); the sweeper will", len(ids), exc)
        return 0
    return len(jobs)
