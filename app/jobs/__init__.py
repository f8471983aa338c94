"""RQ job functions and the scheduling adapter; jobs take ids, never ORM objects.

Importing this package registers what the services' after-commit work does (see
app.services.after_commit): queue deliveries, schedule retries, signal recorded tests.
"""
from redis.exceptions import RedisError

from ..services import after_commit, deliveries
from ..services.outcomes import LOST_CLAIMS
from . import enqueue, scheduling


def _schedule(items):
    for delivery_id, at in items:
        scheduling.schedule_attempt(delivery_id, at)


def _signal_attempted(delivery_ids):
    from flask import current_app

    pipe = current_app.redis.pipeline()
    for delivery_id in delivery_ids:
        key = deliveries.ATTEMPTED.format(delivery_id)
        pipe.rpush(key, 1)
        pipe.expire(key, 60)
    try:
        pipe.execute()
    except (RedisError, OSError):
        pass  # the waiting page reads the database as well


def _count_lost_claims(delivery_ids):
    from flask import current_app

    try:
        current_app.redis.incrby(LOST_CLAIMS, len(delivery_ids))
    except (RedisError, OSError):
        pass


after_commit.register("deliver", enqueue.enqueue_deliveries)
after_commit.register("deliver_now", lambda ids: enqueue.enqueue_deliveries(ids, urgent=True))
after_commit.register("drain", lambda _: enqueue.request_drain())
after_commit.register("schedule", _schedule)
after_commit.register("attempted", _signal_attempted)
after_commit.register("lost_claims", _count_lost_claims)
