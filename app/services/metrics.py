"""Prometheus metrics computed from the database and Redis at scrape time, so any process
can serve them: web and worker processes share no memory."""
from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from redis.exceptions import RedisError
from sqlalchemy import case, func, select

from ..extensions import db
from ..models import Attempt, Delivery, Endpoint, utcnow
from . import due_work
from .outcomes import LOST_CLAIMS

DURATION_BUCKETS_MS = (50, 100, 250, 500, 1000, 2500, 5000, 10000)
DURATION_WINDOW = timedelta(hours=1)


def _deliveries_by_status():
    """Waiting deliveries counted through the partial index that holds only them; final
    ones from the endpoints' counters, kept as deliveries reach each final state."""
    waiting = dict(db.session.execute(
        select(Delivery.status, func.count()).where(Delivery.waiting()).group_by(Delivery.status)
    ).all())
    finals = db.session.execute(
        select(
            func.coalesce(func.sum(Endpoint.delivered_count), 0),
            func.coalesce(func.sum(Endpoint.exhausted_count), 0),
            func.coalesce(func.sum(Endpoint.cancelled_count), 0),
        )
    ).one()
    family = GaugeMetricFamily(
        "hookline_deliveries",
        "Deliveries by status: waiting ones as stored now, final ones as counted since the "
        "endpoint was created (history purged by retention included).",
        labels=["status"],
    )
    for status in ("pending", "failed"):
        family.add_metric([status], waiting.get(status, 0))
    for status, count in zip(("delivered", "exhausted", "cancelled"), finals, strict=True):
        family.add_metric([status], int(count))
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
    count = due_work.overdue_count(now, now - grace)
    return GaugeMetricFamily(
        "hookline_deliveries_due_not_enqueued",
        "Deliveries of sending endpoints due for longer than the sweep grace period and not "
        "being attempted.",
        value=count,
    )


def _lost_claims(redis):
    try:
        lost = int(redis.get(LOST_CLAIMS) or 0)
    except (RedisError, OSError, ValueError):
        lost = 0
    return CounterMetricFamily(
        "hookline_lost_claims",
        "Attempt outcomes dropped because their claim had run out before they were recorded.",
        value=lost,
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
        yield _lost_claims(self.queue.connection)
        yield _queue_depth(self.queue)


def render(queue, grace_seconds):
    """The metrics in the Prometheus text format (bytes)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HooklineCollector(queue, grace_seconds))
    return generate_latest(registry)
