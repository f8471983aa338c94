"""The endpoint overview page, Pause/Resume forms and the list row's Active switch."""
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import AuditEntry, Delivery, EndpointDailyStat, utcnow
from app.services import endpoints
from tests import factories
from tests.jobs.engine import run_worker


@pytest.fixture
def endpoint(org):
    created, _ = endpoints.create_endpoint(org.id, None, {
        "name": "Slack alerts", "url": "https://93.184.215.14/hook", "type": "slack",
        "events": ["scan.completed", "issue.status_changed"], "statuses": ["fixed"],
        "projects": ["proj-uuid-9012"], "retryPolicy": "quick", "rateLimit": 5,
        "ordered": True,
        "payloadFilter": [{"path": "data.urgency", "op": "in", "value": ["HI", "CR"]}],
        "headers": [{"name": "X-Api-Key", "value": "secret-value-1234"}],
    })
    return created


def page(client, endpoint, **query):
    response = client.get(f"/organization/webhooks/{endpoint.id}", query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_list_row_links_to_the_overview(client, auth, admin, endpoint):
    auth.login(admin.email)
    listing = client.get("/organization/webhooks").get_data(as_text=True)
    assert f'href="/organization/webhooks/{endpoint.id}">Slack alerts</a>' in listing


def test_overview_shows_settings_status_figures_and_recent_attempts(client, auth, admin, org,
                                                                     endpoint):
    events_of = factories.make_delivery
    for minutes, ok, duration in ((3, True, 120), (2, False, 900), (1, True, 80)):
        delivery = events_of(endpoint, "delivered" if ok else "failed",
                             created_at=utcnow() - timedelta(minutes=minutes))
        factories.make_attempt(delivery, succeeded=ok, duration_ms=duration,
                               started_at=utcnow() - timedelta(minutes=minutes),
                               response_status=200 if ok else 503)
    endpoint.total_attempts, endpoint.successful_attempts, endpoint.failed_attempts = 3, 2, 1
    endpoint.last_attempt_at, endpoint.last_attempt_ok = utcnow(), True
    db.session.add(EndpointDailyStat(endpoint_id=endpoint.id, org_id=org.id,
                                     day=utcnow().date(), successful=2, failed=1))
    db.session.commit()
    auth.login(admin.email)
    text = page(client, endpoint)
    for expected in ("Slack alerts", "https://93.184.215.14/hook", "Healthy", "Slack",
                     "scan.completed", "issue.status_changed", "fixed", "proj-uuid-9012",
                     "X-Api-Key: ••••1234", "custom template", "Quick: 3 attempts",
                     "data.urgency in [&#34;HI&#34;, &#34;CR&#34;]",
                     "at most 5 deliveries a second", "one delivery at a time",
                     "Statistics, last 14 days"):
        assert expected in text, expected
    assert "secret-value-1234" not in text
    assert 'data-stat="calls">3<' in text and 'data-stat="deliveries">3<' in text
    assert 'data-stat="successRate">66.7%<' in text
    # Latency of the answered calls: 80, 120, 900 ms.
    assert 'data-stat="latency">120 / 900 ms' in text
    assert text.count('href="/organization/webhooks/history/') == 3
    assert "HTTP status</span> <span class=\"fw-semibold\">503" in text
    for action in ("Edit", "Test", "Pause", "Replay…", "Rotate secret…", "Delete…"):
        assert f">{action}<" in text, action


def test_a_paused_endpoint_says_why_and_what_waits(client, auth, admin, org, endpoint):
    endpoints.update_endpoint(org.id, None, endpoint, {"isActive": False})
    factories.make_delivery(endpoint, "pending", next_attempt_at=utcnow())
    auth.login(admin.email)
    text = page(client, endpoint)
    assert "Paused</strong> by a user" in text
    assert "<strong>1</strong> delivery waits for it." in text
    assert ">Resume<" in text and "discard the 1 held instead of sending them" in text


def test_an_endpoint_without_calls_shows_no_zeros(client, auth, admin, endpoint):
    auth.login(admin.email)
    text = page(client, endpoint)
    assert "No deliveries yet" in text and "0.0%" not in text and "<svg" not in text
    assert "No delivery has been attempted yet." in text


def test_viewers_read_the_overview_without_actions(client, auth, org, endpoint):
    viewer = factories.make_user(org, "viewer")
    auth.login(viewer.email)
    text = page(client, endpoint)
    assert "Slack alerts" in text and ">Pause<" not in text and ">Edit<" not in text
    listing = client.get("/organization/webhooks").get_data(as_text=True)
    assert "⟳ Deliveries" in listing and "Active<span" not in listing


def test_another_organizations_endpoint_is_404(client, auth, admin, endpoint):
    other = factories.make_endpoint(factories.make_org(), "Theirs")
    auth.login(admin.email)
    assert client.get(f"/organization/webhooks/{other.id}").status_code == 404
    assert client.post(f"/organization/webhooks/{other.id}/pause").status_code == 404
    assert client.get("/organization/webhooks/not-an-id").status_code == 404


def test_a_bad_range_falls_back_with_a_message(client, auth, admin, endpoint):
    auth.login(admin.email)
    text = page(client, endpoint, range="2w")
    assert "range must be one of 24h, 7d, 14d, 30d; showing the last 14 days." in text
    assert "Statistics, last 24 hours" in page(client, endpoint, range="24h")


def test_pause_and_resume_buttons_work_without_a_script(app, client, auth, admin, org,
                                                        endpoint, receiver):
    auth.login(admin.email)
    paused = client.post(f"/organization/webhooks/{endpoint.id}/pause", follow_redirects=True)
    assert "“Slack alerts”: Paused: new deliveries are held until you resume." in \
        paused.get_data(as_text=True)
    assert endpoints.get_endpoint(org.id, endpoint.id).is_active is False
    again = client.post(f"/organization/webhooks/{endpoint.id}/pause", follow_redirects=True)
    assert "“Slack alerts” is already paused." in again.get_data(as_text=True)
    # Somewhere else than this site is not a place to go back to.
    bounced = client.post(f"/organization/webhooks/{endpoint.id}/pause",
                          data={"next": "https://elsewhere.example/"})
    assert bounced.headers["Location"] == f"/organization/webhooks/{endpoint.id}"
    endpoint.url = receiver.url
    held_id = factories.make_delivery(endpoint, "pending", next_attempt_at=utcnow()).id
    # The list row's switch posts here and comes back to the list.
    resumed = client.post(f"/organization/webhooks/{endpoint.id}/resume",
                          data={"next": "/organization/webhooks"})
    assert resumed.headers["Location"] == "/organization/webhooks"
    run_worker(app)
    assert receiver.wait_for(1)[0].headers["X-Hookline-Delivery"] == held_id
    actions = [entry.action for entry in AuditEntry.query.order_by(AuditEntry.id)]
    assert actions[-2:] == ["endpoint.pause", "endpoint.resume"]


def test_resume_can_discard_what_was_held(client, auth, admin, org, endpoint):
    endpoints.update_endpoint(org.id, None, endpoint, {"isActive": False})
    held = factories.make_delivery(endpoint, "pending", next_attempt_at=utcnow())
    auth.login(admin.email)
    response = client.post(f"/organization/webhooks/{endpoint.id}/resume",
                           data={"discard_held": "y"}, follow_redirects=True)
    assert "Resumed: 1 held deliveries discarded." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Delivery, held.id).status == "cancelled"


def test_viewers_cannot_pause(client, auth, org, endpoint):
    viewer = factories.make_user(org, "viewer")
    auth.login(viewer.email)
    assert client.post(f"/organization/webhooks/{endpoint.id}/pause").status_code == 403
    assert client.post(f"/organization/webhooks/{endpoint.id}/resume").status_code == 403
