"""Retention: only history older than the setting goes; counters and daily series stay."""
from datetime import date, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Attempt,
    Delivery,
    DeliveryHourCount,
    Endpoint,
    EndpointDailyStat,
    Event,
    utcnow,
)
from app.services import retention, stats
from tests import factories


def count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_purges_only_what_is_older_than_the_setting(app, org):
    app.config["WEBHOOK_RETENTION_DAYS"] = 30
    now = utcnow()
    endpoint = factories.make_endpoint(org, total_attempts=9, successful_attempts=7,
                                       failed_attempts=2, consecutive_failures=1)
    db.session.add(EndpointDailyStat(endpoint_id=endpoint.id, org_id=org.id,
                                     day=date(2020, 1, 1), successful=3, failed=1))
    old = [factories.make_delivery(endpoint, created_at=now - timedelta(days=30, minutes=m))
           for m in range(1, 8)]
    for delivery in old:
        factories.make_attempt(delivery, succeeded=True)
    kept = factories.make_delivery(endpoint, created_at=now - timedelta(days=29, hours=23))
    factories.make_attempt(kept)
    other_org = factories.make_org()
    factories.make_delivery(factories.make_endpoint(other_org),
                            created_at=now - timedelta(days=31))

    removed = retention.purge(now=now, batch_size=3)

    assert removed["deliveries"] == 8
    db.session.expire_all()
    assert db.session.execute(select(Delivery.id)).scalars().all() == [kept.id]
    assert db.session.execute(select(Attempt.delivery_id)).scalars().all() == [kept.id]
    endpoint = db.session.get(Endpoint, endpoint.id)
    assert (endpoint.total_attempts, endpoint.successful_attempts, endpoint.failed_attempts,
            endpoint.consecutive_failures) == (9, 7, 2, 1)
    assert count(EndpointDailyStat) == 1


def test_old_events_go_only_once_their_deliveries_are_gone(app, org):
    now = utcnow()
    endpoint = factories.make_endpoint(org)
    orphan = Event(org_id=org.id, type="scan.completed", data={},
                   created_at=now - timedelta(days=100))
    still_used = Event(org_id=org.id, type="scan.completed", data={},
                       created_at=now - timedelta(days=100))
    recent = Event(org_id=org.id, type="scan.completed", data={}, created_at=now)
    db.session.add_all([orphan, still_used, recent])
    db.session.commit()
    # A delivery made late (a retry-era replay) keeps its old event alive.
    factories.make_delivery(endpoint, event_id=still_used.id, created_at=now - timedelta(days=1))

    assert retention.purge(now=now, days=90) == {"deliveries": 0, "events": 1,
                                                 "idempotency_keys": 0, "hour_counts": 0}
    assert sorted(db.session.execute(select(Event.id)).scalars()) == sorted(
        [still_used.id, recent.id])


def test_nothing_to_purge_is_cheap_and_harmless(app, org):
    factories.make_delivery(factories.make_endpoint(org))
    assert retention.purge() == {"deliveries": 0, "events": 0, "idempotency_keys": 0,
                                 "hour_counts": 0}
    assert count(Delivery) == 1


def test_hour_counts_go_once_no_statistics_range_reaches_them(app, org):
    now = utcnow()
    endpoint = factories.make_endpoint(org)
    factories.make_delivery(endpoint, created_at=now - timedelta(days=2))
    month = stats.window("30d", now)
    assert stats.range_stats([endpoint], month)[endpoint.id]["deliveries"] == 1
    # A count kept by a view of two months ago.
    old_hour = (now - timedelta(days=60)).replace(minute=0, second=0, microsecond=0)
    db.session.add(DeliveryHourCount(endpoint_id=endpoint.id, hour=old_hour, deliveries=7))
    db.session.commit()
    kept = count(DeliveryHourCount)

    removed = retention.purge(now=now, days=365)

    assert removed["hour_counts"] == 1 and count(DeliveryHourCount) == kept - 1
    assert stats.range_stats([endpoint], month)[endpoint.id]["deliveries"] == 1
