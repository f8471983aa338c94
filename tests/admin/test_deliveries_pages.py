"""⟳ Deliveries: an endpoint's 50 most recent attempts, each opening request and response."""
from datetime import timedelta

from app.models import AuditEntry, utcnow
from tests import factories
from tests.jobs.engine import make_endpoint as live_endpoint
from tests.jobs.engine import run_worker


def test_list_row_links_to_the_deliveries_view(client, auth, admin, org):
    endpoint = factories.make_endpoint(org, "Slack alerts")
    auth.login(admin.email)
    text = client.get("/organization/webhooks").get_data(as_text=True)
    assert f'href="/organization/webhooks/{endpoint.id}/deliveries"' in text
    assert "⟳ Deliveries" in text


def test_shows_the_50_most_recent_attempts_with_request_and_response(client, auth, admin,
                                                                     org):
    endpoint = factories.make_endpoint(org, "Slack alerts")
    delivery = factories.make_delivery(endpoint, "failed", "scan.failed")
    start = utcnow() - timedelta(hours=2)
    for n in range(1, 53):
        factories.make_attempt(
            delivery, number=n, started_at=start + timedelta(minutes=n), response_status=500,
            request_headers={"X-Hookline-Signature": "••••", "X-Api-Key": "••••abcd"},
            request_body=f'{{"n":{n}}}', response_headers={"Server": "demo"},
            response_body=f"failure body {n}", error="HTTP 500", duration_ms=n,
        )
    auth.login(admin.email)
    response = client.get(f"/organization/webhooks/{endpoint.id}/deliveries")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text.count("<details") == 50
    assert "failure body 52" in text and "failure body 3<" in text
    assert "failure body 2<" not in text
    for expected in ("scan.failed", delivery.event_id, "attempt 52 of 52", "HTTP 500",
                     "••••abcd", '&#34;n&#34;: 52', "Server"):
        assert expected in text


def test_deleted_or_foreign_endpoint_is_404(client, auth, admin, org):
    gone = factories.make_endpoint(org, deleted_at=utcnow())
    foreign = factories.make_endpoint(factories.make_org())
    auth.login(admin.email)
    assert client.get(f"/organization/webhooks/{gone.id}/deliveries").status_code == 404
    assert client.get(f"/organization/webhooks/{foreign.id}/deliveries").status_code == 404


def test_replay_from_the_view_resends_since_the_chosen_time(client, auth, admin, org,
                                                            receiver):
    endpoint = factories.db_endpoint(live_endpoint(org, receiver.url)[0])
    now = utcnow()
    recent = factories.make_delivery(endpoint, "exhausted", attempt_count=5,
                                     created_at=now - timedelta(minutes=30))
    factories.make_delivery(endpoint, "exhausted", attempt_count=5,
                            created_at=now - timedelta(days=3))
    recent_id, endpoint_id, email = recent.id, endpoint.id, admin.email
    auth.login(email)
    since = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/organization/webhooks/{endpoint_id}/replay",
                           data={"since": since}, follow_redirects=True)
    assert "Replaying 1 failed or exhausted deliveries" in response.get_data(as_text=True)
    run_worker(client.application)
    assert [r.headers["X-Hookline-Delivery"] for r in receiver.wait_for(1)] == [recent_id]
    entry = AuditEntry.query.filter_by(action="endpoint.replay").one()
    assert (entry.actor_name, entry.target_id, entry.details["count"]) == (email, endpoint_id, 1)


def test_replay_without_a_time_explains_next_to_the_field(client, auth, admin, org):
    endpoint = factories.make_endpoint(org)
    auth.login(admin.email)
    response = client.post(f"/organization/webhooks/{endpoint.id}/replay",
                           data={"since": "soon"})
    assert response.status_code == 422
    assert "Choose the date and time to replay from" in response.get_data(as_text=True)
    assert AuditEntry.query.count() == 0
