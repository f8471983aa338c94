"""The Test Webhook page: choose an event type, send, see status, time and response."""
from sqlalchemy import select

from app.extensions import db
from app.models import Attempt, AuditEntry
from tests import factories
from tests.jobs.engine import make_endpoint


def test_list_row_links_to_the_test_page(client, auth, org, admin, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    auth.login(admin.email)
    page = client.get("/organization/webhooks").get_data(as_text=True)
    assert f'href="/organization/webhooks/{endpoint_id}/test"' in page


def test_page_offers_only_the_endpoints_event_types(client, auth, org, admin, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url, events=["scan.completed", "issue.assigned"])
    auth.login(admin.email)
    page = client.get(f"/organization/webhooks/{endpoint_id}/test").get_data(as_text=True)
    assert '<option value="scan.completed"' in page
    assert '<option value="issue.assigned"' in page
    assert "user.login" not in page


def test_sending_shows_status_time_and_response(client, auth, org, admin, receiver, worker):
    endpoint_id, _ = make_endpoint(org, receiver.url, events=["scan.completed", "issue.assigned"])
    receiver.answer(202, b'{"queued": "yes <b>"}')
    auth.login(admin.email)

    response = client.post(
        f"/organization/webhooks/{endpoint_id}/test", data={"event_type": "issue.assigned"}
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Delivered" in page
    assert '<dd data-field="status">202</dd>' in page
    assert " ms</dd>" in page
    assert "{&#34;queued&#34;: &#34;yes &lt;b&gt;&#34;}" in page
    sent = receiver.wait_for(1)[0]
    assert sent.json()["event_type"] == "issue.assigned"
    attempt = db.session.execute(select(Attempt)).scalar_one()
    assert attempt.trigger == "test"
    assert attempt.delivery_id in page
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "endpoint.test"))
    assert entry.scalar_one().actor_name == admin.email


def test_a_failing_receiver_shows_the_error(client, auth, org, admin, receiver, worker):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    receiver.answer(redirect="https://elsewhere.example/")
    auth.login(admin.email)
    page = client.post(
        f"/organization/webhooks/{endpoint_id}/test", data={"event_type": "scan.completed"}
    ).get_data(as_text=True)
    assert "Failed" in page
    assert "Redirect to https://elsewhere.example/ not followed" in page


def test_a_type_the_endpoint_does_not_take_is_refused_next_to_the_field(
    client, auth, org, admin, receiver
):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    auth.login(admin.email)
    response = client.post(
        f"/organization/webhooks/{endpoint_id}/test", data={"event_type": "user.login"}
    )
    assert response.status_code == 422
    assert "invalid-feedback" in response.get_data(as_text=True)
    assert receiver.requests == []


def test_viewers_cannot_test_and_other_orgs_get_404(client, auth, org, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    viewer = factories.make_user(org, "viewer")
    other_admin = factories.make_user(factories.make_org("Other"), "admin")
    auth.login(viewer.email)
    assert client.get(f"/organization/webhooks/{endpoint_id}/test").status_code == 403
    auth.logout()
    auth.login(other_admin.email)
    response = client.post(
        f"/organization/webhooks/{endpoint_id}/test", data={"event_type": "scan.completed"}
    )
    assert response.status_code == 404
    assert receiver.requests == []
