"""Prometheus metrics computed from the database and Redis at scrape time, so any process
can serve them: web and worker processes share no memory."""
from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from redis.exceptions import RedisError
from sqlalchemy import case, func, or_, select

from ..extensions import db
from ..models import DELIVERY_STATUSES, Attempt, Delivery, Endpoint, utcnow

DURATION_BUCKETS_MS = (50, 100, 250, 500, 1000, 2500, 5000, 10000)
DURATION_WINDOW = timedelta(hours=1)


def _deliveries_by_status():
    counts = dict(
        db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )
    family = GaugeMetricFamily(
        "hookline_deliveries", "Deliveries stored, by status.", labels=["status"]
    )
    for status in DELIVERY_STATUSES:
        family.add_metric([status], counts.get(status, 0))
    return family


def _attempts_by_outcome():
    successful, failed = db.session.execute(
        select(
            func.coalesce(func.sum(Endpoint.successful_attempts), 0),
            func.coalesce(func.sum(Endpoint.failed_attempts), 0),
        )
    ).one()
    family = CounterMetricFamily(
        "hookline_attempts", "Delivery attempts made, by outcome.", labels=["outcome"]
    )
    family.add_metric(["success"], int(successful))
    family.add_metric(["failure"], int(failed))
    return family


def _duration_histogram(now):
    bucket_columns = [
        func.coalesce(func.sum(case((Attempt.duration_ms <= bound, 1), else_=0)), 0)
        for bound in DURATION_BUCKETS_MS
    ]
    row = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Attempt.duration_ms), 0), *bucket_columns)
        .where(Attempt.started_at >= now - DURATION_WINDOW, Attempt.duration_ms.is_not(None))
    ).one()
    total, total_ms, *cumulative = (int(value) for value in row)
    family = HistogramMetricFamily(
        "hookline_attempt_duration_seconds",
        "Duration of the delivery attempts of the last hour.",
    )
    buckets = [(str(bound / 1000), count) for bound, count in zip(DURATION_BUCKETS_MS, cumulative,
                                                                  strict=True)]
    family.add_metric([], buckets + [("+Inf", total)], total_ms / 1000)
    return family


def _due_not_enqueued(now, grace):
    count = db.session.execute(
        select(func.count())
        .select_from(Delivery)
        .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
        .where(
            Delivery.waiting(),
            Delivery.next_attempt_at < now - grace,
            or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
            Endpoint.is_active.is_(True),
            Endpoint.deleted_at.is_(None),
        )
    ).scalar_one()
    return GaugeMetricFamily(
        "hookline_deliveries_due_not_enqueued",
        "Deliveries due for longer than the sweep grace period and not being attempted.",
        value=count,
    )


def _queue_depth(queue):
    try:
        depth = len(queue)
    except RedisError:
        return GaugeMetricFamily("hookline_redis_up", "1 if Redis answered the scrape.", value=0)
    return GaugeMetricFamily(
        "hookline_queue_depth", "Jobs waiting in the delivery queue.", value=depth
    )


class HooklineCollector:
    """Collects every Hookline metric in one pass over the database and Redis."""

    def __init__(self, queue, grace_seconds):
        self.queue = queue
        self.grace = timedelta(seconds=grace_seconds)

    def collect(self):
        now = utcnow()
        yield _deliveries_by_status()
        yield _attempts_by_outcome()
        yield _duration_histogram(now)
        yield _due_not_enqueued(now, self.grace)
        yield _queue_depth(self.queue)


def render(queue, grace_seconds):
    """The metrics in the Prometheus text format (bytes)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HooklineCollector(queue, grace_seconds))
    return generate_latest(registry)
