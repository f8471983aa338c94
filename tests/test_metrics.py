"""GET /metrics: Prometheus text computed from the database and Redis, protected."""
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.models import utcnow
from tests import factories


def scrape(client, **kwargs):
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            samples[key] = sample.value
    return samples


def test_figures_come_from_the_database_and_the_queue(app, client, org):
    now = utcnow()
    # Final deliveries are counted on their endpoint as they become final (the engine keeps
    # these counters; tests/jobs/test_delivery.py checks it does), so a scrape never reads
    # the history.
    live = factories.make_endpoint(org, successful_attempts=7, failed_attempts=3,
                                   delivered_count=2, exhausted_count=1)
    paused = factories.make_endpoint(org, is_active=False, failed_attempts=2, delivered_count=1,
                                     cancelled_count=1)
    factories.make_delivery(live, "failed", next_attempt_at=now - timedelta(minutes=10))
    factories.make_delivery(live, "pending", next_attempt_at=now)
    factories.make_delivery(live, "pending", next_attempt_at=now - timedelta(minutes=10),
                            locked_until=now + timedelta(seconds=30))
    factories.make_delivery(paused, "pending", next_attempt_at=now - timedelta(hours=1))
    delivery = factories.make_delivery(live, "delivered")
    for ms in (30, 80, 400, 3000):
        factories.make_attempt(delivery, duration_ms=ms, started_at=now - timedelta(minutes=5))
    factories.make_attempt(delivery, duration_ms=20, started_at=now - timedelta(hours=2))
    app.task_queue.enqueue("app.jobs.retention.purge_history")
    app.task_queue.enqueue("app.jobs.retention.purge_history")

    samples = scrape(client)

    by_status = {status: samples[("hookline_deliveries", (("status", status),))]
                 for status in ("pending", "delivered", "failed", "exhausted", "cancelled")}
    assert by_status == {"pending": 3, "delivered": 3, "failed": 1, "exhausted": 1,
                         "cancelled": 1}
    assert samples[("hookline_attempts_total", (("outcome", "success"),))] == 7
    assert samples[("hookline_attempts_total", (("outcome", "failure"),))] == 5
    # Only the failed one: the fresh one is within the grace, the locked one is being
    # attempted and the paused endpoint's delivery is held on purpose.
    assert samples[("hookline_deliveries_due_not_enqueued", ())] == 1
    assert samples[("hookline_queue_depth", ())] == 2
    histogram = "hookline_attempt_duration_seconds"
    assert samples[(histogram + "_count", ())] == 4
    assert samples[(histogram + "_sum", ())] == pytest.approx(3.51)
    assert samples[(histogram + "_bucket", (("le", "0.05"),))] == 1
    assert samples[(histogram + "_bucket", (("le", "0.5"),))] == 3
    assert samples[(histogram + "_bucket", (("le", "+Inf"),))] == 4


def test_served_to_localhost_only_without_a_token(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("config_overrides", [{"METRICS_TOKEN": "scrape-me"}])
def test_token_setting_requires_the_bearer_token(client):
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/metrics").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/metrics", headers=wrong, environ_base=remote).status_code == 401
    right = {"Authorization": "Bearer scrape-me"}
    response = client.get("/metrics", headers=right, environ_base=remote)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")


def test_a_redis_outage_does_not_break_the_scrape(make_app):
    from app.embedded_redis import free_port

    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with app.app_context():
        samples = scrape(app.test_client())
    assert samples[("hookline_redis_up", ())] == 0
    assert ("hookline_queue_depth", ()) not in samples
