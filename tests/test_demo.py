"""Demo data: live endpoints on the demo receiver, a week of consistent history, and a demo
receiver that exists in development only."""
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from app.demo import demo_receiver_url, load_demo
from app.extensions import db
from app.models import Attempt, Delivery, Endpoint, EndpointDailyStat, utcnow


def test_demo_endpoints_deliver_to_the_demo_receiver_with_a_week_of_history(app):
    result = load_demo(demo_receiver_url(5000))
    found = db.session.execute(select(Endpoint).where(Endpoint.org_id == result["org_id"])
                               ).scalars().all()
    assert {e.url for e in found} == {f"http://127.0.0.1:5000/demo-receiver/{name}"
                                      for name in ("slack", "pagerduty", "jira", "splunk",
                                                   "archive")}
    paused = [e for e in found if not e.is_active]
    assert [e.name for e in paused] == ["Compliance archive"]
    deliveries = db.session.execute(select(Delivery)).scalars().all()
    assert len(deliveries) > 300
    oldest = min(d.created_at for d in deliveries)
    assert utcnow() - timedelta(days=7, minutes=1) < oldest < utcnow() - timedelta(days=6)
    statuses = Counter(d.status for d in deliveries)
    # Final except what the paused endpoint holds: nothing is left for the engine to pick up
    # behind the user's back.
    held = [d for d in deliveries if d.status == "pending"]
    assert held and {d.endpoint_id for d in held} == {paused[0].id}
    assert all(d.attempt_count == 0 for d in held)
    assert set(statuses) <= {"delivered", "exhausted", "pending"}
    for endpoint in found:
        attempts = db.session.execute(
            select(func.count(), func.sum(Attempt.succeeded.cast(db.Integer)))
            .where(Attempt.endpoint_id == endpoint.id)).one()
        daily = db.session.execute(
            select(func.sum(EndpointDailyStat.successful), func.sum(EndpointDailyStat.failed))
            .where(EndpointDailyStat.endpoint_id == endpoint.id)).one()
        assert endpoint.total_attempts == attempts[0] == daily[0] + daily[1]
        assert endpoint.successful_attempts == attempts[1] == daily[0]
        assert endpoint.last_attempt_at is not None


def test_without_a_receiver_the_demo_endpoints_stay_paused(app):
    load_demo(None)
    found = db.session.execute(select(Endpoint)).scalars().all()
    assert found and not any(e.is_active for e in found)
    assert all(e.url.startswith("https://") for e in found)


def test_the_demo_receiver_answers_in_development(client):
    ok = client.post("/demo-receiver/slack", json={"text": "hi"},
                     headers={"webhook-id": "evt-1", "webhook-timestamp": "1700000001"})
    assert ok.status_code == 200
    assert ok.get_json() == {"ok": True, "receiver": "slack", "event": "evt-1"}
    assert client.post("/demo-receiver/down", json={}).status_code == 503
    flaky = [client.post("/demo-receiver/flaky", json={},
                         headers={"webhook-timestamp": str(stamp)}).status_code
             for stamp in (1700000001, 1700000002, 1700000003)]
    assert sorted(flaky) == [200, 200, 503]


def test_production_serves_no_demo_receiver(make_app):
    production = make_app(HOOKLINE_ENV="production", SECRET_KEY="s" * 40,
                          WEBHOOK_ENCRYPTION_KEY="e" * 40)
    assert not any(rule.rule.startswith("/demo-receiver")
                   for rule in production.url_map.iter_rules())
    response = production.test_client().post("/demo-receiver/slack", json={})
    assert response.status_code == 404
