"""History API: list with filters and cursors, one delivery, retry, replay, stats, export."""
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from app.models import Attempt, AuditEntry, utcnow
from tests import factories
from tests.jobs.engine import delivery as reload_delivery
from tests.jobs.engine import make_endpoint as live_endpoint
from tests.jobs.engine import run_worker


@pytest.fixture
def endpoint(org):
    return factories.make_endpoint(org, "Primary")


def test_list_is_newest_first_with_cursor_pages(api, endpoint):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    made = [factories.make_delivery(endpoint, created_at=start + timedelta(minutes=i))
            for i in range(5)]
    first = api.get("/webhook-deliveries?limit=2").get_json()
    assert [d["id"] for d in first["data"]] == [made[4].id, made[3].id]
    second = api.get(f"/webhook-deliveries?limit=2&cursor={first['nextCursor']}").get_json()
    third = api.get(f"/webhook-deliveries?limit=2&cursor={second['nextCursor']}").get_json()
    assert [d["id"] for d in second["data"] + third["data"]] == [m.id for m in made[2::-1]]
    assert third["nextCursor"] is None
    row = first["data"][0]
    assert row == {
        "id": made[4].id, "webhookId": endpoint.id, "eventId": made[4].event_id,
        "eventType": "scan.completed", "status": "delivered", "attempts": 0,
        "nextAttemptAt": None, "lastStatusCode": None, "lastError": None,
        "createdAt": "2025-01-01T00:04:00.000Z", "deliveredAt": None,
    }


def test_filters_by_status_type_webhook_and_dates(api, org, endpoint):
    other = factories.make_endpoint(org, "Other")
    wanted = factories.make_delivery(endpoint, "exhausted", "scan.failed",
                                     created_at=datetime(2025, 1, 10, 5, tzinfo=UTC))
    factories.make_delivery(other, "exhausted", "scan.failed",
                            created_at=datetime(2025, 1, 10, 5, tzinfo=UTC))
    factories.make_delivery(endpoint, "exhausted", "scan.failed",
                            created_at=datetime(2025, 1, 11, 5, tzinfo=UTC))
    factories.make_delivery(endpoint, "delivered", "scan.failed",
                            created_at=datetime(2025, 1, 10, 6, tzinfo=UTC))
    body = api.get(f"/webhook-deliveries?status=exhausted&eventType=scan.failed"
                   f"&webhook={endpoint.id}&from=2025-01-10&to=2025-01-10T23:59:59Z").get_json()
    assert [d["id"] for d in body["data"]] == [wanted.id]


@pytest.mark.parametrize("query, field", [
    ("status=lost", "status"), ("eventType=nope", "eventType"), ("from=tomorrow", "from"),
    ("webhook=00000000-0000-0000-0000-000000000000", "webhook"),
])
def test_invalid_filters_get_422_naming_the_field(api, query, field):
    response = api.get(f"/webhook-deliveries?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert api.get(f"/webhook-deliveries/export.csv?{query}").status_code == 422


@pytest.mark.parametrize("query", ["cursor=garbage!", "cursor=Zm9vfGJhcg", "limit=0",
                                   "limit=101", "limit=ten"])
def test_bad_cursor_or_limit_gets_400(api, endpoint, query):
    factories.make_delivery(endpoint)
    response = api.get(f"/webhook-deliveries?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_one_delivery_with_its_attempts(api, endpoint):
    delivery = factories.make_delivery(endpoint, "failed", last_status_code=500)
    factories.make_attempt(delivery, trigger="auto", response_status=500, duration_ms=12,
                           request_headers={"X-Hookline-Signature": "••••"},
                           request_body='{"a":1}', response_body="boom", error="HTTP 500")
    body = api.get(f"/webhook-deliveries/{delivery.id}").get_json()
    assert body["payload"]["event_id"] == delivery.event_id
    assert body["attemptList"] == [{
        "number": 1, "trigger": "auto", "startedAt": body["attemptList"][0]["startedAt"],
        "durationMs": 12, "requestHeaders": {"X-Hookline-Signature": "••••"},
        "requestBody": '{"a":1}', "responseStatus": 500, "responseHeaders": {},
        "responseBody": "boom", "error": "HTTP 500", "errorClass": "http",
        "requestUrl": None, "remoteAddress": None,
    }]


def test_other_organizations_delivery_and_webhook_are_404(api):
    foreign_endpoint = factories.make_endpoint(factories.make_org())
    foreign = factories.make_delivery(foreign_endpoint, "failed")
    for path in (f"/webhook-deliveries/{foreign.id}",
                 f"/webhooks/{foreign_endpoint.id}/deliveries",
                 f"/webhooks/{foreign_endpoint.id}/stats"):
        assert api.get(path).status_code == 404
    assert api.post(f"/webhook-deliveries/{foreign.id}/retry").status_code == 404
    assert api.post(f"/webhooks/{foreign_endpoint.id}/replay",
                    json={"since": "2025-01-01T00:00:00Z"}).status_code == 404


def test_endpoint_recent_deliveries_capped_at_50(api, endpoint):
    for _ in range(52):
        factories.make_delivery(endpoint)
    body = api.get(f"/webhooks/{endpoint.id}/deliveries").get_json()
    assert len(body["data"]) == 50 and body["nextCursor"] is None
    assert len(api.get(f"/webhooks/{endpoint.id}/deliveries?limit=3").get_json()["data"]) == 3
    assert api.get(f"/webhooks/{endpoint.id}/deliveries?limit=51").status_code == 400


def test_stats_come_from_the_counters(api, org):
    endpoint = factories.make_endpoint(org, total_attempts=4, successful_attempts=3,
                                       failed_attempts=1, consecutive_failures=1,
                                       last_attempt_at=datetime(2025, 1, 2, tzinfo=UTC))
    body = api.get(f"/webhooks/{endpoint.id}/stats").get_json()
    assert {k: body[k] for k in ("total", "successful", "failed", "successRate",
                                 "consecutiveFailures", "lastTriggeredAt")} == {
        "total": 4, "successful": 3, "failed": 1, "successRate": 0.75,
        "consecutiveFailures": 1, "lastTriggeredAt": "2025-01-02T00:00:00.000Z"}
    assert len(body["daily"]) == 14


def test_manual_retry_sends_a_new_attempt_on_the_same_delivery(api, org, receiver):
    endpoint_id, _ = live_endpoint(org, receiver.url)
    endpoint = factories.db_endpoint(endpoint_id)
    delivery = factories.make_delivery(endpoint, "exhausted", attempt_count=5,
                                       next_attempt_at=utcnow())
    delivery_id = delivery.id
    response = api.post(f"/webhook-deliveries/{delivery_id}/retry")
    assert response.status_code == 202
    assert response.get_json()["status"] == "pending"
    run_worker(api.client.application)
    request = receiver.wait_for(1)[0]
    assert request.headers["X-Hookline-Delivery"] == delivery_id
    done = reload_delivery(delivery_id)
    assert (done.status, done.attempt_count) == ("delivered", 6)
    attempt = Attempt.query.filter_by(delivery_id=delivery_id).one()
    assert (attempt.trigger, attempt.number) == ("manual", 6)
    entry = AuditEntry.query.filter_by(action="delivery.retry").one()
    assert (entry.actor_type, entry.target_id) == ("token", delivery_id)


def test_retry_of_a_delivered_delivery_is_409(api, endpoint):
    delivery = factories.make_delivery(endpoint, "delivered")
    response = api.post(f"/webhook-deliveries/{delivery.id}/retry")
    assert response.status_code == 409
    assert "failed or exhausted" in response.get_json()["error"]["message"]


def test_replay_resends_failed_and_exhausted_since_the_time(api, org, receiver):
    endpoint_id, _ = live_endpoint(org, receiver.url)
    endpoint = factories.db_endpoint(endpoint_id)
    now = utcnow()
    old = factories.make_delivery(endpoint, "failed", created_at=now - timedelta(days=2),
                                  attempt_count=1)
    wanted = [factories.make_delivery(endpoint, status, attempt_count=1,
                                      created_at=now - timedelta(hours=1))
              for status in ("failed", "exhausted")]
    factories.make_delivery(endpoint, "delivered", created_at=now - timedelta(hours=1))
    old_id, wanted_ids = old.id, {d.id for d in wanted}
    since = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = api.post(f"/webhooks/{endpoint_id}/replay", json={"since": since})
    assert response.status_code == 202 and response.get_json() == {"replayed": 2}
    run_worker(api.client.application)
    received = {r.headers["X-Hookline-Delivery"] for r in receiver.wait_for(2)}
    assert received == wanted_ids
    assert reload_delivery(old_id).status == "failed"
    assert AuditEntry.query.filter_by(action="endpoint.replay").one().details["count"] == 2


@pytest.mark.parametrize("body", [{}, {"since": "last week"}, {"since": 5}])
def test_replay_needs_a_valid_since(api, endpoint, body):
    response = api.post(f"/webhooks/{endpoint.id}/replay", json=body)
    assert response.status_code == 422
    assert "since" in response.get_json()["error"]["fields"]


def test_export_csv_streams_rows_with_a_dated_attachment(api, endpoint):
    factories.make_delivery(endpoint, "failed", last_error="=cmd|' /C calc'!A0")
    factories.make_delivery(endpoint, "delivered")
    response = api.get("/webhook-deliveries/export.csv?status=failed")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    disposition = response.headers["Content-Disposition"]
    assert disposition == (f'attachment; filename="hookline-deliveries-'
                           f'{utcnow():%Y%m%d}.csv"')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 2 and rows[1][9] == "'=cmd|' /C calc'!A0"
    entry = AuditEntry.query.filter_by(action="delivery.export").one()
    assert entry.details == {"filters": {"status": "failed"}}


def test_q_searches_the_list_and_the_export_alike(api, org, endpoint):
    other = factories.make_endpoint(org, "Slack #appsec")
    mine = factories.make_delivery(endpoint, "failed")
    theirs = factories.make_delivery(other, "failed")
    by_event = api.get(f"/webhook-deliveries?q={theirs.event_id}").get_json()
    assert [d["id"] for d in by_event["data"]] == [theirs.id]
    by_id = api.get(f"/webhook-deliveries?q={mine.id}").get_json()
    assert [d["id"] for d in by_id["data"]] == [mine.id]
    by_name = api.get("/webhook-deliveries", query_string={"q": "#APPSEC"}).get_json()
    assert [d["id"] for d in by_name["data"]] == [theirs.id]
    exported = api.get("/webhook-deliveries/export.csv", query_string={"q": "primary"})
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [row["id"] for row in rows] == [mine.id]
    entry = AuditEntry.query.filter_by(action="delivery.export").one()
    assert entry.details == {"filters": {"query": "primary"}}
    too_long = api.get("/webhook-deliveries", query_string={"q": "x" * 201})
    assert too_long.status_code == 422
    assert too_long.get_json()["error"]["fields"] == {
        "q": "The search text must be at most 200 characters"}


def test_stats_take_a_range(api, org):
    endpoint = factories.make_endpoint(org, "Ranged")
    delivery = factories.make_delivery(endpoint, "delivered", created_at=utcnow())
    factories.make_attempt(delivery, succeeded=True, started_at=utcnow(), duration_ms=120,
                           response_status=200)
    day = api.get(f"/webhooks/{endpoint.id}/stats?range=24h").get_json()
    window = day["window"]
    assert window["range"] == "24h" and len(window["series"]) == 24
    assert (window["calls"], window["successful"], window["deliveries"]) == (1, 1, 1)
    assert window["latencyMs"] == {"p50": 120, "p95": 120, "sample": 1, "capped": False}
    month = api.get(f"/webhooks/{endpoint.id}/stats?range=30d").get_json()
    assert len(month["daily"]) == 30 and len(month["window"]["series"]) == 30
    assert len(api.get(f"/webhooks/{endpoint.id}/stats").get_json()["daily"]) == 14
    for bad in ("1y", "14", "all"):
        response = api.get(f"/webhooks/{endpoint.id}/stats?range={bad}")
        assert response.status_code == 422
        assert response.get_json()["error"]["fields"] == {
            "range": "range must be one of 24h, 7d, 14d, 30d"}


def test_replay_refuses_a_time_in_the_future(api, endpoint):
    later = (utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = api.post(f"/webhooks/{endpoint.id}/replay", json={"since": later})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["since"] == (
        "since must not be in the future: nothing was delivered after now")


def test_delivery_detail_says_what_comes_next_and_classifies_errors(api, org, endpoint):
    endpoint.is_active = False
    delivery = factories.make_delivery(endpoint, "failed", attempt_count=1,
                                       next_attempt_at=utcnow() - timedelta(minutes=1))
    factories.make_attempt(delivery, number=1, started_at=utcnow(), error="Connection refused",
                           request_url=endpoint.url, remote_address="203.0.113.7")
    body = api.get(f"/webhook-deliveries/{delivery.id}").get_json()
    assert body["nextAttempt"]["kind"] == "held_paused" and body["nextAttempt"]["at"] is None
    attempt = body["attemptList"][0]
    assert attempt["errorClass"] == "connect"
    assert (attempt["requestUrl"], attempt["remoteAddress"]) == (endpoint.url, "203.0.113.7")
