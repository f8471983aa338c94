"""Endpoint statistics (SPEC §7): counters kept on the endpoint plus a 14-day daily series,
and the figures of a chosen range (24 hours to 30 days): calls, deliveries, latency."""
import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import and_, case, delete, func, or_, select

from ..extensions import db
from ..models import (
    Attempt,
    Delivery,
    DeliveryHourCount,
    EndpointDailyStat,
    insert_or_update,
    utcnow,
)

RANGES = ("24h", "7d", "14d", "30d")
DEFAULT_RANGE = "14d"
RANGE_LABELS = {"24h": "last 24 hours", "7d": "last 7 days", "14d": "last 14 days",
                "30d": "last 30 days"}
SHORT_LABELS = {"24h": "24 h", "7d": "7 days", "14d": "14 days", "30d": "30 days"}
# Latency percentiles read at most this many of the range's most recent answered calls.
LATENCY_SAMPLE = 10_000
HOUR = timedelta(hours=1)
# A delivery's creation time comes a moment before its commit: an hour's count is kept for
# good once the hour ended this long ago; the deliveries after that are counted each time.
SETTLE = timedelta(minutes=5)
# No range reaches further back than this: older kept hour counts are never read again.
LONGEST_RANGE = timedelta(days=31)


def iso(moment):
    """ISO-8601 UTC with milliseconds and Z (2025-01-15T14:30:00.000Z), or None."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def daily_rows(endpoint_ids, first_day, last_day):
    """{(endpoint_id, day): (successful, failed)} for the days given, in one query."""
    if not endpoint_ids:
        return {}
    rows = db.session.execute(
        select(
            EndpointDailyStat.endpoint_id,
            EndpointDailyStat.day,
            EndpointDailyStat.successful,
            EndpointDailyStat.failed,
        ).where(
            EndpointDailyStat.endpoint_id.in_(list(endpoint_ids)),
            EndpointDailyStat.day >= first_day,
            EndpointDailyStat.day <= last_day,
        )
    ).all()
    return {(row.endpoint_id, row.day): (row.successful, row.failed) for row in rows}


def endpoint_stats(endpoints, days=14, today=None) -> dict:
    """{endpoint id: the SPEC §9 stats object} for the given endpoints, with ONE query for
    the daily series of all of them; `today` (a UTC date) ends the series."""
    today = today or utcnow().date()
    first_day = today - timedelta(days=days - 1)
    series_days = [first_day + timedelta(days=offset) for offset in range(days)]
    daily = daily_rows([endpoint.id for endpoint in endpoints], first_day, today)
    result = {}
    for endpoint in endpoints:
        total = endpoint.total_attempts or 0
        successful = endpoint.successful_attempts or 0
        result[endpoint.id] = {
            "total": total,
            "successful": successful,
            "failed": endpoint.failed_attempts or 0,
            "successRate": round(successful / total, 4) if total else 0.0,
            "consecutiveFailures": endpoint.consecutive_failures or 0,
            "lastTriggeredAt": iso(endpoint.last_attempt_at),
            "daily": [
                {
                    "date": day.isoformat(),
                    "successful": daily.get((endpoint.id, day), (0, 0))[0],
                    "failed": daily.get((endpoint.id, day), (0, 0))[1],
                }
                for day in series_days
            ],
        }
    return result


def organization_daily(org_id, days=14, today=None):
    """The organization's daily series (every endpoint, deleted ones too): `days` entries of
    {"date", "successful", "failed"}, oldest first, from one grouped query."""
    today = today or utcnow().date()
    first_day = today - timedelta(days=days - 1)
    rows = db.session.execute(
        select(
            EndpointDailyStat.day,
            func.sum(EndpointDailyStat.successful),
            func.sum(EndpointDailyStat.failed),
        )
        .where(
            EndpointDailyStat.org_id == org_id,
            EndpointDailyStat.day >= first_day,
            EndpointDailyStat.day <= today,
        )
        .group_by(EndpointDailyStat.day)
    ).all()
    totals = {day: (int(ok or 0), int(failed or 0)) for day, ok, failed in rows}
    series = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        ok, failed = totals.get(day, (0, 0))
        series.append({"date": day.isoformat(), "successful": ok, "failed": failed})
    return series


class RangeError(ValueError):
    """A statistics range this server does not offer."""


def parse_range(text):
    """The range named by `text` ('24h', '7d', '14d' or '30d'; empty means the default 14d).
    Raises RangeError with a message for anything else."""
    text = (text or "").strip()
    if not text:
        return DEFAULT_RANGE
    if text not in RANGES:
        raise RangeError(f"range must be one of {', '.join(RANGES)}")
    return text


@dataclass(frozen=True)
class Window:
    """The time a range covers, cut into the buckets its chart draws (UTC hours or days)."""

    name: str
    start: datetime
    end: datetime
    hourly: bool
    buckets: tuple

    @property
    def label(self):
        return RANGE_LABELS[self.name]

    @property
    def short_label(self):
        return SHORT_LABELS[self.name]

    @property
    def days(self):
        """The UTC days the window touches, oldest first."""
        first, last = self.start.date(), self.end.date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def window(name, now=None):
    """The Window of a range ending `now`: 24 hourly buckets (the current hour last) for 24h,
    else whole UTC days, today last."""
    now = now or utcnow()
    if name == "24h":
        hour = now.replace(minute=0, second=0, microsecond=0)
        buckets = tuple(hour - timedelta(hours=23 - n) for n in range(24))
        return Window(name, buckets[0], now, True, buckets)
    count = int(name.rstrip("d"))
    today = now.date()
    days = tuple(today - timedelta(days=count - 1 - n) for n in range(count))
    return Window(name, datetime.combine(days[0], time(), tzinfo=UTC), now, False, days)


def _hour_of(column):
    """SQL for the UTC hour an instant falls in, on the database in use."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", column))
    return func.strftime("%Y-%m-%d %H:00:00", column)


def _as_hour(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _hourly_rows(condition, start, by_endpoint):
    """{(endpoint id or None, hour): (successful, failed)} of the attempts since `start`,
    grouped in SQL (ix_attempts_endpoint_started, or ix_attempts_started for a whole
    organization)."""
    hour = _hour_of(Attempt.started_at).label("hour")
    key = Attempt.endpoint_id if by_endpoint else None
    columns = [hour, func.sum(case((Attempt.succeeded, 1), else_=0)), func.count()]
    statement = select(*([key] if by_endpoint else []), *columns).where(
        condition, Attempt.started_at >= start
    ).group_by(*([key] if by_endpoint else []), hour)
    rows = {}
    for row in db.session.execute(statement).all():
        endpoint_id = row[0] if by_endpoint else None
        at, ok, total = row[-3:]
        rows[(endpoint_id, _as_hour(at))] = (int(ok or 0), int(total) - int(ok or 0))
    return rows


def _series(win, lookup):
    """The window's buckets as [{"start", "successful", "failed"}] from a bucket → counts
    lookup."""
    series = []
    for bucket in win.buckets:
        ok, failed = lookup(bucket)
        start = bucket if win.hourly else datetime.combine(bucket, time(), tzinfo=UTC)
        series.append({"start": iso(start), "successful": ok, "failed": failed})
    return series


def _deliveries_since(endpoint_ids, start, now):
    """{endpoint id: deliveries created from `start` (a whole UTC hour) on}: the kept counts
    of the hours that ended SETTLE before `now`, plus the deliveries after them counted from
    ix_deliveries_endpoint_created. So a range costs the same at any history size."""
    settled = (now - SETTLE).replace(minute=0, second=0, microsecond=0)
    counts = dict.fromkeys(endpoint_ids, 0)
    if start < settled:
        counts.update(_kept_counts(endpoint_ids, start, settled))
    live = db.session.execute(
        select(Delivery.endpoint_id, func.count())
        .where(Delivery.endpoint_id.in_(list(endpoint_ids)),
               Delivery.created_at >= max(start, settled))
        .group_by(Delivery.endpoint_id)
    ).all()
    for endpoint_id, count in live:
        counts[endpoint_id] += count
    return counts


def _kept_counts(endpoint_ids, start, until):
    """{endpoint id: deliveries created in the hours from `start` to `until`} from
    delivery_hour_counts, counting first the hours not kept yet."""
    kept = (
        select(DeliveryHourCount.endpoint_id, func.min(DeliveryHourCount.hour),
               func.max(DeliveryHourCount.hour), func.count(),
               func.sum(DeliveryHourCount.deliveries))
        .where(DeliveryHourCount.endpoint_id.in_(list(endpoint_ids)),
               DeliveryHourCount.hour >= start, DeliveryHourCount.hour < until)
        .group_by(DeliveryHourCount.endpoint_id)
    )
    found = {row[0]: row[1:] for row in db.session.execute(kept).all()}
    hours = (until - start) // HOUR
    gaps = []
    for endpoint_id in sorted(endpoint_ids):
        first, last, count, _ = found.get(endpoint_id, (None, None, 0, 0))
        if count == hours:
            continue
        if count and count == (last - first) // HOUR + 1:
            # Kept hours are always one unbroken run: count what lies on either side.
            gaps += [(endpoint_id, start, first), (endpoint_id, last + HOUR, until)]
        else:
            gaps.append((endpoint_id, start, until))
    if gaps:
        _keep_hours([gap for gap in gaps if gap[1] < gap[2]])
        found = {row[0]: row[1:] for row in db.session.execute(kept).all()}
    return {endpoint_id: int(row[3] or 0) for endpoint_id, row in found.items()}


def _keep_hours(gaps):
    """Count the deliveries of each (endpoint id, first hour, end) gap by hour, in one
    query, and keep the counts, zeros included, in their own transaction (when readers
    race, the first one's rows stay: they hold the same numbers)."""
    hour = _hour_of(Delivery.created_at).label("hour")
    in_gaps = or_(*(
        and_(Delivery.endpoint_id == endpoint_id, Delivery.created_at >= first,
             Delivery.created_at < end)
        for endpoint_id, first, end in gaps
    ))
    with db.engine.begin() as connection:
        counted = connection.execute(
            select(Delivery.endpoint_id, hour, func.count())
            .where(in_gaps)
            .group_by(Delivery.endpoint_id, hour)
        ).all()
        by_hour = {(endpoint_id, _as_hour(at)): count for endpoint_id, at, count in counted}
        rows = [
            {"endpoint_id": endpoint_id, "hour": first + HOUR * n,
             "deliveries": by_hour.get((endpoint_id, first + HOUR * n), 0)}
            for endpoint_id, first, end in gaps
            for n in range((end - first) // HOUR)
        ]
        connection.execute(
            insert_or_update(DeliveryHourCount.__table__).on_conflict_do_nothing(), rows
        )


def forget_hour_counts(now=None):
    """Delete the kept hour counts older than any range reads; returns how many."""
    before = (now or utcnow()) - LONGEST_RANGE
    deleted = db.session.execute(
        delete(DeliveryHourCount).where(DeliveryHourCount.hour < before)
    ).rowcount
    db.session.commit()
    return deleted


def percentile(values, fraction):
    """The nearest-rank percentile of sorted `values` (None when there are none)."""
    if not values:
        return None
    return values[max(1, math.ceil(fraction * len(values))) - 1]


def latency(endpoint_id, win):
    """p50 and p95 (ms) of the endpoint's answered calls in the window, from at most
    LATENCY_SAMPLE of the most recent, read in ix_attempts_endpoint_started order."""
    durations = db.session.execute(
        select(Attempt.duration_ms)
        .where(Attempt.endpoint_id == endpoint_id, Attempt.started_at >= win.start,
               Attempt.response_status.is_not(None), Attempt.duration_ms.is_not(None))
        .order_by(Attempt.started_at.desc())
        .limit(LATENCY_SAMPLE + 1)
    ).scalars().all()
    capped = len(durations) > LATENCY_SAMPLE
    values = sorted(durations[:LATENCY_SAMPLE])
    return {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95),
            "sample": len(values), "capped": capped}


def range_stats(endpoints, win, with_latency=False):
    """{endpoint id: the figures of the window}: calls (attempts) with their successful and
    failed counts, success rate, deliveries created, the chart series and, when asked, the
    latency percentiles. A fixed number of queries for any number of endpoints (latency adds
    one per endpoint)."""
    ids = [endpoint.id for endpoint in endpoints]
    if not ids:
        return {}
    if win.hourly:
        hourly = _hourly_rows(Attempt.endpoint_id.in_(ids), win.start, by_endpoint=True)
    else:
        daily = daily_rows(ids, win.buckets[0], win.buckets[-1])
    deliveries = _deliveries_since(ids, win.start, win.end)
    result = {}
    for endpoint_id in ids:
        if win.hourly:
            series = _series(win, lambda b, e=endpoint_id: hourly.get((e, b), (0, 0)))
        else:
            series = _series(win, lambda b, e=endpoint_id: daily.get((e, b), (0, 0)))
        successful = sum(point["successful"] for point in series)
        failed = sum(point["failed"] for point in series)
        calls = successful + failed
        result[endpoint_id] = {
            "range": win.name,
            "from": iso(win.start),
            "to": iso(win.end),
            "calls": calls,
            "successful": successful,
            "failed": failed,
            "successRate": round(successful / calls, 4) if calls else None,
            "deliveries": deliveries.get(endpoint_id, 0),
            "series": series,
        }
        if with_latency:
            result[endpoint_id]["latencyMs"] = latency(endpoint_id, win)
    return result


def organization_series(org_id, win):
    """The organization's chart series for the window (every endpoint, deleted ones too)."""
    if win.hourly:
        rows = _hourly_rows(Attempt.org_id == org_id, win.start, by_endpoint=False)
        return _series(win, lambda bucket: rows.get((None, bucket), (0, 0)))
    daily = {point["date"]: point for point in organization_daily(
        org_id, days=len(win.buckets), today=win.buckets[-1])}
    return _series(win, lambda day: (daily[day.isoformat()]["successful"],
                                     daily[day.isoformat()]["failed"]))


def stats_with_range(endpoint, win):
    """The stats API object: the §7 counters, `daily` over the window's days and `window`,
    the window's figures with latency."""
    today = win.end.date()
    figures = endpoint_stats([endpoint], days=len(win.days), today=today)[endpoint.id]
    figures["window"] = range_stats([endpoint], win, with_latency=True)[endpoint.id]
    return figures

