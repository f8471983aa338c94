"""History page: filters, pagination, retry, retry all matching, CSV export, roles."""
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Attempt, AuditEntry, utcnow
from tests import factories
from tests.jobs.engine import delivery as reload_delivery
from tests.jobs.engine import make_endpoint as live_endpoint
from tests.jobs.engine import run_worker


@pytest.fixture
def endpoint(org):
    return factories.make_endpoint(org, "Primary hook")


def page(client, query=""):
    response = client.get("/organization/webhooks/history" + query)
    return response, response.get_data(as_text=True)


def test_lists_deliveries_with_their_webhook_and_status(client, auth, admin, endpoint):
    delivery = factories.make_delivery(endpoint, "exhausted", "scan.failed", attempt_count=5,
                                       last_status_code=503, last_error="HTTP 503")
    auth.login(admin.email)
    response, text = page(client)
    assert response.status_code == 200
    for expected in ("Primary hook", "scan.failed", delivery.event_id, "exhausted", "503",
                     "HTTP 503", f"/organization/webhooks/history/{delivery.id}/retry"):
        assert expected in text


def test_filters_narrow_the_rows_and_keep_their_values(client, auth, admin, org, endpoint):
    other = factories.make_endpoint(org, "Other hook")
    wanted = factories.make_delivery(endpoint, "failed", "scan.failed")
    unwanted = factories.make_delivery(other, "failed", "scan.failed")
    auth.login(admin.email)
    _, text = page(client, f"?status=failed&eventType=scan.failed&webhook={endpoint.id}")
    assert wanted.event_id in text and unwanted.event_id not in text
    assert '<option value="failed" selected>' in text
    assert f'<option value="{endpoint.id}" selected>' in text


def test_bad_filter_shows_a_message_and_no_error(client, auth, admin, endpoint):
    factories.make_delivery(endpoint)
    auth.login(admin.email)
    response, text = page(client, "?from=31/12/2025&status=weird")
    assert response.status_code == 200
    assert "must be an ISO-8601 date" in text and "status must be one of" in text


def test_deleted_webhook_is_selectable_and_marked(client, auth, admin, org):
    gone = factories.make_endpoint(org, "Retired hook", deleted_at=utcnow())
    delivery = factories.make_delivery(gone)
    auth.login(admin.email)
    _, text = page(client, f"?webhook={gone.id}")
    assert "Retired hook (deleted)" in text and delivery.event_id in text


def test_pages_follow_the_cursor_and_a_bad_cursor_shows_page_one(client, auth, admin,
                                                                 endpoint):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    made = [factories.make_delivery(endpoint, created_at=start + timedelta(minutes=i))
            for i in range(55)]
    auth.login(admin.email)
    _, text = page(client)
    assert made[54].event_id in text and made[4].event_id not in text
    next_link = text.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(next_link).get_data(as_text=True)
    assert made[4].event_id in second and made[54].event_id not in second
    response, text = page(client, "?cursor=%%%not-valid")
    assert response.status_code == 200
    assert "showing the first page" in text and made[54].event_id in text


def test_manual_retry_from_the_page_reaches_the_receiver(client, auth, admin, org, receiver):
    endpoint = factories.db_endpoint(live_endpoint(org, receiver.url)[0])
    delivery = factories.make_delivery(endpoint, "failed", attempt_count=1,
                                       next_attempt_at=utcnow() + timedelta(hours=1))
    delivery_id, email = delivery.id, admin.email
    auth.login(email)
    response = client.post(f"/organization/webhooks/history/{delivery_id}/retry",
                           data={"next": "/organization/webhooks/history"},
                           follow_redirects=True)
    assert "Retry of the scan.completed delivery requested" in response.get_data(as_text=True)
    run_worker(client.application)
    assert receiver.wait_for(1)[0].headers["X-Hookline-Delivery"] == delivery_id
    assert reload_delivery(delivery_id).attempt_count == 2
    assert Attempt.query.filter_by(delivery_id=delivery_id).one().trigger == "manual"
    assert AuditEntry.query.filter_by(action="delivery.retry").one().actor_name == email


def test_retry_all_matching_confirms_the_count_then_runs_in_background(
        client, auth, admin, org, receiver):
    endpoint = factories.db_endpoint(live_endpoint(org, receiver.url)[0])
    failed = [factories.make_delivery(endpoint, status, attempt_count=1)
              for status in ("failed", "exhausted", "failed")]
    failed_ids = {d.id for d in failed}
    factories.make_delivery(endpoint, "delivered")
    factories.make_delivery(endpoint, "failed", "scan.failed")
    auth.login(admin.email)
    confirm = client.get("/organization/webhooks/history/retry-all?eventType=scan.completed")
    text = confirm.get_data(as_text=True)
    assert "<strong>3</strong> failed or exhausted deliveries match" in text
    response = client.post("/organization/webhooks/history/retry-all?eventType=scan.completed",
                           follow_redirects=True)
    assert "Retrying 3 matching deliveries in the background" in response.get_data(as_text=True)
    # Nothing was sent inside the request: the job does it.
    assert receiver.requests == []
    run_worker(client.application)
    received = {r.headers["X-Hookline-Delivery"] for r in receiver.wait_for(3)}
    assert received == failed_ids
    entry = AuditEntry.query.filter_by(action="delivery.bulk_retry").one()
    assert entry.details == {"filters": {"event_type": "scan.completed"}, "count": 3}


def test_export_streams_the_filtered_csv(client, auth, org, endpoint):
    viewer = factories.make_user(org, "viewer")
    factories.make_delivery(endpoint, "failed", last_error="+SUM(A1)")
    factories.make_delivery(endpoint, "delivered")
    auth.login(viewer.email)
    response = client.get("/organization/webhooks/history/export.csv?status=failed")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="hookline-deliveries-')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 2 and rows[1][9] == "'+SUM(A1)"
    assert AuditEntry.query.filter_by(action="delivery.export").one().actor_name == viewer.email


def test_viewers_see_and_export_history_but_cannot_retry(client, auth, org, endpoint):
    viewer = factories.make_user(org, "viewer")
    delivery = factories.make_delivery(endpoint, "failed")
    auth.login(viewer.email)
    _, text = page(client)
    assert delivery.event_id in text and "/retry" not in text and "Retry all" not in text
    assert "Export CSV" in text
    assert client.post(f"/organization/webhooks/history/{delivery.id}/retry").status_code == 403
    assert client.get("/organization/webhooks/history/export.csv").status_code == 200
    assert client.get("/organization/webhooks/history/retry-all").status_code == 403
    assert client.post("/organization/webhooks/history/retry-all").status_code == 403
    assert client.post(f"/organization/webhooks/{endpoint.id}/replay",
                       data={"since": "2025-01-01T00:00"}).status_code == 403
    # Only the export was audited: the refused actions left no trace of a change.
    assert [e.action for e in AuditEntry.query.all()] == ["delivery.export"]


def test_delivery_detail_shows_request_and_response(client, auth, admin, endpoint):
    delivery = factories.make_delivery(endpoint, "failed")
    factories.make_attempt(delivery, request_headers={"X-Api-Key": "••••4321"},
                           request_body='{"event_type":"scan.completed"}', response_status=502,
                           response_headers={"Server": "nginx"}, response_body="Bad gateway",
                           error="HTTP 502", duration_ms=40)
    auth.login(admin.email)
    text = client.get(f"/organization/webhooks/history/{delivery.id}").get_data(as_text=True)
    for expected in ("X-Api-Key", "••••4321", "scan.completed", "nginx", "Bad gateway",
                     "HTTP 502", "40 ms"):
        assert expected in text


def test_another_organizations_delivery_is_404(client, auth, admin):
    foreign = factories.make_delivery(factories.make_endpoint(factories.make_org()), "failed")
    auth.login(admin.email)
    assert client.get(f"/organization/webhooks/history/{foreign.id}").status_code == 404
    assert client.post(f"/organization/webhooks/history/{foreign.id}/retry").status_code == 404


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example/x",
                                    "https://evil.example/x"])
def test_retry_never_redirects_to_another_site(client, auth, admin, endpoint, target):
    delivery = factories.make_delivery(endpoint, "delivered")
    auth.login(admin.email)
    response = client.post(f"/organization/webhooks/history/{delivery.id}/retry",
                           data={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organization/webhooks/history/{delivery.id}"


def test_page_queries_do_not_grow_with_rows_or_webhooks(app, client, auth, admin, org):
    auth.login(admin.email)
    statements = []

    def count(*args):
        statements.append(1)

    def queries_for_page():
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/organization/webhooks/history").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    factories.make_delivery(factories.make_endpoint(org))
    few = queries_for_page()
    for _ in range(8):
        endpoint = factories.make_endpoint(org)
        for status in ("failed", "delivered", "exhausted"):
            factories.make_delivery(endpoint, status)
    assert queries_for_page() == few


def test_search_box_finds_by_event_id_and_name_and_keeps_its_text(client, auth, admin, org,
                                                                  endpoint):
    other = factories.make_endpoint(org, "Slack #appsec")
    mine = factories.make_delivery(endpoint, "failed")
    theirs = factories.make_delivery(other, "failed")
    auth.login(admin.email)
    _, text = page(client, f"?q={theirs.event_id}")
    assert theirs.event_id in text and mine.event_id not in text
    assert f'name="q" value="{theirs.event_id}"' in text
    assert f"history/export.csv?q={theirs.event_id}" in text
    _, text = page(client, "?q=PRIMARY")
    assert mine.event_id in text and theirs.event_id not in text
    response, text = page(client, "?q=" + "x" * 201)
    assert response.status_code == 200
    assert "The search text must be at most 200 characters" in text


def test_deliveries_held_by_a_paused_endpoint_are_marked(client, auth, admin, endpoint):
    endpoint.is_active = False
    factories.make_delivery(endpoint, "pending", next_attempt_at=utcnow())
    auth.login(admin.email)
    _, text = page(client)
    assert ">held</span>" in text and "Held: the endpoint is paused." in text


def test_endpoints_with_the_same_name_are_told_apart_in_the_filter(client, auth, admin, org):
    factories.make_endpoint(org, "Alerts", url="https://one.example.test/in")
    factories.make_endpoint(org, "Alerts", url="https://two.example.test/in")
    factories.make_endpoint(org, "Unique")
    auth.login(admin.email)
    _, text = page(client)
    assert ">Alerts · https://one.example.test/in<" in text
    assert ">Alerts · https://two.example.test/in<" in text
    assert ">Unique<" in text


def test_delivery_detail_shows_the_request_as_sent_and_the_next_attempt(client, auth, admin,
                                                                         endpoint):
    due = utcnow() + timedelta(minutes=5)
    delivery = factories.make_delivery(endpoint, "failed", attempt_count=2, next_attempt_at=due,
                                       next_trigger="retry")
    factories.make_attempt(delivery, number=1, started_at=utcnow(), error="Connection refused")
    factories.make_attempt(delivery, number=2, started_at=utcnow(), duration_ms=40,
                           request_url="https://93.184.215.14/old-path",
                           remote_address="93.184.215.14", response_status=502,
                           request_body='{"a":1,"b":"é"}', response_body="<h1>bad gateway</h1>")
    auth.login(admin.email)
    text = client.get(f"/organization/webhooks/history/{delivery.id}").get_data(as_text=True)
    # The old attempt has no URL of its own: the endpoint's, said so; the address not recorded.
    assert "this attempt did not record its own" in text and "not recorded" in text
    assert "https://93.184.215.14/old-path" in text and ">93.184.215.14<" in text
    assert ">Connection</span>" in text and ">HTTP status</span>" in text
    assert "&#34;b&#34;: &#34;é&#34;" in text  # indented, text as written
    assert "&lt;h1&gt;bad gateway&lt;/h1&gt;" in text
    assert 'data-copy="#attempt-' in text and "hidden>Copy" in text
    assert "Attempt 3 of 5: the standard retry policy waits 5 min after attempt 2." in text
    assert f'<time datetime="{due:%Y-%m-%dT%H:%M:%SZ}"' in text
    assert 'data-copy="#payload"' in text


def test_a_held_delivery_says_so_instead_of_a_time_in_the_past(client, auth, admin, endpoint):
    endpoint.is_active = False
    delivery = factories.make_delivery(endpoint, "failed", attempt_count=1,
                                       next_attempt_at=utcnow() - timedelta(hours=2))
    auth.login(admin.email)
    text = client.get(f"/organization/webhooks/history/{delivery.id}").get_data(as_text=True)
    assert "Held: the endpoint is paused. It is sent when someone resumes the endpoint." in text
    assert 'data-field="next-at"' not in text


def test_replay_refuses_a_time_in_the_future(client, auth, admin, endpoint):
    auth.login(admin.email)
    later = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/organization/webhooks/{endpoint.id}/replay", data={"since": later})
    assert response.status_code == 422
    assert "Choose a time in the past: nothing was delivered after now." in \
        response.get_data(as_text=True)
    assert AuditEntry.query.filter_by(action="endpoint.replay").count() == 0
