"""Statistics of a range: 24 hourly or N daily buckets, calls, deliveries and latency."""
from datetime import UTC, date, datetime, timedelta

import pytest

from app.models import utcnow
from app.services import retention, stats
from tests import factories

NOW = datetime(2025, 1, 15, 14, 20, tzinfo=UTC)


def test_ranges_are_parsed_with_a_default_and_a_clear_error():
    assert stats.parse_range(None) == stats.parse_range("") == "14d"
    assert [stats.parse_range(name) for name in ("24h", "7d", "14d", "30d")] == list(
        stats.RANGES)
    for bad in ("1y", "14", "7D", "24h;", "x" * 500):
        with pytest.raises(stats.RangeError, match="range must be one of 24h, 7d, 14d, 30d"):
            stats.parse_range(bad)


def test_windows_cover_whole_utc_days_or_the_last_24_hours():
    week = stats.window("7d", NOW)
    assert week.buckets[0] == date(2025, 1, 9) and week.buckets[-1] == date(2025, 1, 15)
    assert week.start == datetime(2025, 1, 9, tzinfo=UTC) and not week.hourly
    assert len(stats.window("30d", NOW).buckets) == 30
    day = stats.window("24h", NOW)
    assert len(day.buckets) == 24 and day.hourly
    assert day.buckets[-1] == datetime(2025, 1, 15, 14, tzinfo=UTC)
    assert day.start == datetime(2025, 1, 14, 15, tzinfo=UTC)
    assert day.days == [date(2025, 1, 14), date(2025, 1, 15)]


@pytest.fixture
def busy(org):
    """An endpoint with attempts over two days and one delivery outside the week."""
    endpoint = factories.make_endpoint(org, "Busy")
    for minutes_ago, ok, duration in ((5, True, 100), (30, False, 300), (65, True, 200),
                                      (60 * 30, True, 400), (60 * 24 * 9, True, 900)):
        started = NOW - timedelta(minutes=minutes_ago)
        delivery = factories.make_delivery(endpoint, "delivered" if ok else "failed",
                                           created_at=started)
        factories.make_attempt(delivery, succeeded=ok, started_at=started, duration_ms=duration,
                               response_status=200 if ok else 500)
    factories.make_attempt(delivery, succeeded=False, started_at=NOW - timedelta(minutes=1),
                           duration_ms=10_000, error="Timed out after 10 s")
    from app.extensions import db
    from app.models import EndpointDailyStat

    for day, ok, failed in ((date(2025, 1, 15), 2, 1), (date(2025, 1, 14), 1, 0),
                            (date(2025, 1, 6), 1, 0)):
        db.session.add(EndpointDailyStat(endpoint_id=endpoint.id, org_id=org.id, day=day,
                                         successful=ok, failed=failed))
    db.session.commit()
    return endpoint


def test_a_daily_range_sums_the_daily_series_and_counts_deliveries(busy):
    figures = stats.range_stats([busy], stats.window("7d", NOW), with_latency=True)[busy.id]
    assert (figures["calls"], figures["successful"], figures["failed"]) == (4, 3, 1)
    assert figures["successRate"] == 0.75
    assert figures["deliveries"] == 4
    assert [point["start"] for point in figures["series"]][-1] == "2025-01-15T00:00:00.000Z"
    assert figures["series"][-1] == {"start": "2025-01-15T00:00:00.000Z", "successful": 2,
                                     "failed": 1}
    # Answered calls only: the timeout has no response time.
    assert figures["latencyMs"] == {"p50": 200, "p95": 400, "sample": 4, "capped": False}


def test_the_24h_range_counts_attempts_by_hour(busy):
    figures = stats.range_stats([busy], stats.window("24h", NOW), with_latency=True)[busy.id]
    assert (figures["calls"], figures["successful"], figures["failed"]) == (4, 2, 2)
    last, previous = figures["series"][-1], figures["series"][-2]
    assert last == {"start": "2025-01-15T14:00:00.000Z", "successful": 1, "failed": 1}
    assert previous == {"start": "2025-01-15T13:00:00.000Z", "successful": 1, "failed": 1}
    assert figures["deliveries"] == 3
    assert figures["latencyMs"]["p50"] == 200 and figures["latencyMs"]["sample"] == 3


def test_an_endpoint_without_calls_has_no_rate_and_no_latency(org):
    idle = factories.make_endpoint(org, "Idle")
    figures = stats.range_stats([idle], stats.window("14d", NOW), with_latency=True)[idle.id]
    assert figures["calls"] == 0 and figures["successRate"] is None
    assert figures["latencyMs"] == {"p50": None, "p95": None, "sample": 0, "capped": False}
    assert len(figures["series"]) == 14


def test_percentiles_use_the_nearest_rank():
    values = list(range(1, 101))
    assert stats.percentile(values, 0.5) == 50
    assert stats.percentile(values, 0.95) == 95
    assert stats.percentile([7], 0.95) == 7
    assert stats.percentile([], 0.5) is None


def test_the_organization_series_follows_the_window(org, busy):
    hourly = stats.organization_series(org.id, stats.window("24h", NOW))
    assert sum(p["successful"] + p["failed"] for p in hourly) == 4
    daily = stats.organization_series(org.id, stats.window("30d", NOW))
    assert sum(p["successful"] + p["failed"] for p in daily) == 5


def test_deliveries_of_past_hours_are_counted_once_and_kept(app, org):
    endpoint = factories.make_endpoint(org, "Counted")
    now = utcnow()
    for hours in (0, 2, 30, 200):
        factories.make_delivery(endpoint, created_at=now - timedelta(hours=hours))
    week, month = stats.window("7d", now), stats.window("30d", now)
    assert stats.range_stats([endpoint], week)[endpoint.id]["deliveries"] == 3
    # A delivery of the current hour shows at once; a longer range counts its older hours.
    factories.make_delivery(endpoint, created_at=now)
    assert stats.range_stats([endpoint], week)[endpoint.id]["deliveries"] == 4
    assert stats.range_stats([endpoint], month)[endpoint.id]["deliveries"] == 5
    # Like the daily series, the counts outlive the deliveries retention purges.
    app.config["WEBHOOK_RETENTION_DAYS"] = 1
    assert retention.purge(now=now)["deliveries"] == 2
    assert stats.range_stats([endpoint], month)[endpoint.id]["deliveries"] == 5
    assert stats.range_stats([endpoint], week)[endpoint.id]["deliveries"] == 4
