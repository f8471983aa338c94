"""One attempt end to end: ingest, a real worker, a real receiver, the recorded outcome."""
import hashlib
import hmac
import json
import time

from sqlalchemy import select, update
from standardwebhooks import Webhook

from app.extensions import db
from app.models import Delivery, Endpoint, EndpointDailyStat, utcnow
from app.services import deliveries, delivery_state, dispatch, events
from tests.jobs.engine import (
    attempt_each,
    attempt_now,
    attempts_of,
    delivery,
    endpoint_row,
    make_endpoint,
    run_worker,
)


def emit_one(org, data=None, event_type="scan.completed"):
    """Emit one event for `org` (an Organization or its id)."""
    org_id = getattr(org, "id", org)
    ingested = events.ingest(org_id, event_type, data or {"scan_id": "s-1"})
    return ingested.event.id, ingested.delivery_ids


def test_receiver_verifies_a_delivery_and_gets_every_header(app, org, receiver):
    endpoint_id, secret = make_endpoint(
        org, receiver.url + "/hook",
        headers=[{"name": "X-Api-Key", "value": "key-0123456789-abcd"}],
    )
    event_id, [delivery_id] = emit_one(org, {"project": {"id": "p1", "name": "Zoë's app"}})
    before = int(time.time())

    run_worker(app)

    sent = receiver.wait_for(1)[0]
    assert (sent.method, sent.path) == ("POST", "/hook")
    body = sent.body.decode("utf-8")
    expected_hex = hmac.new(secret.encode("utf-8"), body.encode("utf-8"), hashlib.sha256)
    assert hmac.compare_digest(expected_hex.hexdigest(), sent.headers["X-Hookline-Signature"])
    assert Webhook(secret).verify(sent.body, dict(sent.headers))["event_id"] == event_id
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["User-Agent"] == "Hookline-Webhooks/1.0"
    assert sent.headers["X-Hookline-Event"] == "scan.completed"
    assert sent.headers["X-Hookline-Delivery"] == delivery_id
    assert before <= int(sent.headers["X-Hookline-Timestamp"]) <= int(time.time())
    assert sent.headers["webhook-timestamp"] == sent.headers["X-Hookline-Timestamp"]
    assert sent.headers["webhook-id"] == event_id
    assert sent.headers["X-Api-Key"] == "key-0123456789-abcd"
    assert sent.headers["Host"] == receiver.url.removeprefix("http://")
    # The bytes that were signed are the bytes of the stored payload.
    assert sent.body == delivery(delivery_id).payload.encode("utf-8")
    assert json.loads(sent.body)["data"]["project"]["name"] == "Zoë's app"

    done = delivery(delivery_id)
    assert (done.status, done.attempt_count, done.last_status_code) == ("delivered", 1, 200)
    assert done.delivered_at is not None and done.next_attempt_at is None
    [attempt] = attempts_of(delivery_id)
    assert (attempt.number, attempt.trigger, attempt.succeeded) == (1, "auto", True)
    assert attempt.request_headers["X-Api-Key"] == "••••abcd"
    assert attempt.request_headers["X-Hookline-Signature"] == sent.headers["X-Hookline-Signature"]
    assert attempt.request_body == body
    assert (attempt.response_status, attempt.response_body) == (200, "ok")


def test_header_prefix_and_user_agent_come_from_settings(make_app, org, receiver):
    branded = make_app(WEBHOOK_HEADER_PREFIX="X-Acme", WEBHOOK_USER_AGENT="Acme-Hooks/2.0")
    with branded.app_context():
        make_endpoint(org, receiver.url)
        emit_one(org)
        run_worker(branded)
        sent = receiver.wait_for(1)[0]
    assert sent.headers["User-Agent"] == "Acme-Hooks/2.0"
    assert sent.headers["X-Acme-Event"] == "scan.completed"
    assert "X-Hookline-Event" not in sent.headers


def test_counters_and_daily_series_follow_each_attempt(app, org, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    org_id = org.id
    receiver.queue(500, 200, 404)
    for _ in range(3):
        emit_one(org_id)
        run_worker(app)
    receiver.wait_for(3)

    row = endpoint_row(endpoint_id)
    assert (row.total_attempts, row.successful_attempts, row.failed_attempts) == (3, 1, 2)
    assert row.consecutive_failures == 1 and row.last_attempt_ok is False
    assert row.last_attempt_at is not None and row.last_delivery_at is not None
    day = db.session.execute(select(EndpointDailyStat)).scalar_one()
    assert (day.day, day.successful, day.failed) == (utcnow().date(), 1, 2)


def test_custom_body_template_is_sent_and_signed(app, org, receiver):
    _, secret = make_endpoint(
        org, receiver.url, bodyTemplate='{"text": "{{event_type}}: {{data.scan_id}}"}'
    )
    emit_one(org, {"scan_id": "s-42"})
    run_worker(app)
    sent = receiver.wait_for(1)[0]
    assert sent.body == b'{"text":"scan.completed: s-42"}'
    assert Webhook(secret).verify(sent.body, dict(sent.headers), json_parse=False) is None


def test_invalid_custom_body_fails_without_sending(app, org, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    db.session.execute(
        update(Endpoint).where(Endpoint.id == endpoint_id).values(body_template='{"a": }')
    )
    db.session.commit()
    _, [delivery_id] = emit_one(org)
    run_worker(app)

    [attempt] = attempts_of(delivery_id)
    assert attempt.error.startswith("Custom body is not valid JSON: ")
    assert attempt.response_status is None
    assert delivery(delivery_id).status == "failed"
    assert receiver.requests == []


def test_a_redirect_is_a_failure_and_is_not_followed(app, org, receiver):
    make_endpoint(org, receiver.url)
    receiver.answer(redirect=receiver.url + "/elsewhere")
    _, [delivery_id] = emit_one(org)
    run_worker(app)

    assert len(receiver.requests) == 1
    [attempt] = attempts_of(delivery_id)
    assert attempt.response_status == 302
    assert attempt.error == f"Redirect to {receiver.url}/elsewhere not followed"
    assert delivery(delivery_id).status == "failed"


def test_a_receiver_slower_than_the_timeout_is_a_timeout(make_app, org, receiver):
    quick = make_app(WEBHOOK_TIMEOUT_SECONDS=1)
    with quick.app_context():
        make_endpoint(org, receiver.url)
        receiver.answer(delay=2)
        _, [delivery_id] = emit_one(org)
        run_worker(quick)
        [attempt] = attempts_of(delivery_id)
    assert attempt.error == "Timed out after 1 s"
    assert attempt.duration_ms >= 1000


def test_connection_refused_is_recorded(app, org):
    from app.embedded_redis import free_port

    make_endpoint(org, f"http://127.0.0.1:{free_port()}/")
    _, [delivery_id] = emit_one(org)
    run_worker(app)
    assert attempts_of(delivery_id)[0].error == "Connection refused"


def test_unresolvable_host_is_a_dns_failure(app, org):
    make_endpoint(org, "http://no-such-host.invalid/")
    _, [delivery_id] = emit_one(org)
    run_worker(app)
    assert attempts_of(delivery_id)[0].error == "DNS lookup failed for no-such-host.invalid"


def test_response_body_is_kept_up_to_64_kib_and_marked_truncated(app, org, receiver):
    make_endpoint(org, receiver.url)
    receiver.answer(200, b"x" * 100_000)
    _, [delivery_id] = emit_one(org)
    run_worker(app)
    [attempt] = attempts_of(delivery_id)
    assert (attempt.response_body, attempt.response_truncated) == ("x" * 65536, True)
    assert attempt.succeeded


def test_a_short_response_body_is_kept_whole(app, org, receiver):
    make_endpoint(org, receiver.url)
    receiver.answer(200, b"y" * 65536)
    _, [delivery_id] = emit_one(org)
    run_worker(app)
    [attempt] = attempts_of(delivery_id)
    assert (attempt.response_body, attempt.response_truncated) == ("y" * 65536, False)


def test_a_second_claim_of_the_same_delivery_gets_nothing(app, org, receiver):
    make_endpoint(org, receiver.url)
    receiver.answer(503)
    _, [delivery_id] = emit_one(org)
    claimed = delivery_state.claim([delivery_id])
    assert list(claimed.rows) == [delivery_id]
    # The count says how many attempts were made, and a claim is not one.
    assert (claimed.rows[delivery_id].attempt_count, claimed.rows[delivery_id].next_trigger) == (
        0, "auto")
    assert delivery_state.claim([delivery_id]).rows == {}
    assert attempt_now(delivery_id) is None
    assert receiver.requests == []


def test_a_paused_endpoint_gets_no_automatic_attempt_but_a_manual_one(app, org, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    org_id = org.id
    receiver.queue(500)
    _, [delivery_id] = emit_one(org)
    run_worker(app)
    db.session.execute(update(Endpoint).where(Endpoint.id == endpoint_id).values(is_active=False))
    db.session.commit()
    db.session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    db.session.commit()

    assert attempt_now(delivery_id) is None
    assert deliveries.request_attempts(org_id, [delivery_id], "manual") == [delivery_id]
    run_worker(app)

    assert len(receiver.wait_for(2)) == 2
    attempts = attempts_of(delivery_id)
    assert [(a.number, a.trigger, a.succeeded) for a in attempts] == [
        (1, "auto", False), (2, "manual", True)
    ]
    assert delivery(delivery_id).status == "delivered"


def test_a_lane_hands_back_what_it_cannot_send_within_its_lease(app, org, receiver,
                                                               monkeypatch):
    # A 5 s lease (timeout 2 + 3) and a send may start only with 4.5 s of it left: after one
    # 1 s send, the endpoint's next deliveries are handed back untouched.
    monkeypatch.setattr(delivery_state, "LEASE_MARGIN_SECONDS", 3)
    monkeypatch.setattr(dispatch, "START_MARGIN_SECONDS", 2.5)
    receiver.answer(200, delay=1.0)
    make_endpoint(org, receiver.url)
    org_id = org.id
    ids = [emit_one(org_id)[1][0] for _ in range(3)]

    assert attempt_each(ids) == 1

    assert len(receiver.requests) == 1
    handed_back = [delivery(i) for i in ids[1:]]
    assert [(d.status, d.attempt_count, d.locked_until, d.lease_token) for d in handed_back] == [
        ("pending", 0, None, None), ("pending", 0, None, None)
    ]
    assert attempt_each(ids[1:]) == 1
    assert attempt_each(ids[2:]) == 1
    assert [delivery(i).status for i in ids] == ["delivered"] * 3
    assert [delivery(i).attempt_count for i in ids] == [1, 1, 1]


def test_one_job_takes_other_due_deliveries_in_batches(app, org, receiver):
    from app.jobs.deliver import deliver

    endpoint_id, _ = make_endpoint(org, receiver.url)
    org_id = org.id
    ids = [emit_one(org_id)[1][0] for _ in range(30)]

    assert deliver(ids[:1]) == 30

    assert {r.headers["X-Hookline-Delivery"] for r in receiver.wait_for(30)} == set(ids)
    assert [r.headers["X-Hookline-Delivery"] for r in receiver.requests] == ids
    run_worker(app)
    assert len(receiver.requests) == 30
    assert [len(attempts_of(i)) for i in ids] == [1] * 30
    row = endpoint_row(endpoint_id)
    assert (row.total_attempts, row.successful_attempts, row.consecutive_failures) == (30, 30, 0)


def test_a_secret_that_cannot_be_decrypted_fails_the_attempt_visibly(make_app, org, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    org_id = org.id
    rekeyed = make_app(WEBHOOK_ENCRYPTION_KEY="a-different-key")
    with rekeyed.app_context():
        _, [delivery_id] = emit_one(org_id)
        run_worker(rekeyed)
        [attempt] = attempts_of(delivery_id)
        assert attempt.error == (
            "Signing secret cannot be decrypted: check WEBHOOK_ENCRYPTION_KEY"
        )
        assert delivery(delivery_id).status == "failed"
    assert receiver.requests == []


def test_endpoints_count_their_deliveries_as_they_become_final(app, api, org, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url, retryPolicy="quick")
    org_id = org.id
    receiver.queue(200, 200, 500)
    sent = [emit_one(org_id)[1][0] for _ in range(3)]
    run_worker(app)
    assert [delivery(i).status for i in sent] == ["delivered", "delivered", "failed"]
    receiver.answer(500)
    assert deliveries.test_webhook(org_id, None, db.session.get(Endpoint, endpoint_id),
                                   "scan.completed").attempt is None  # no worker: not sent yet
    run_worker(app)
    db.session.execute(update(Endpoint).where(Endpoint.id == endpoint_id).values(is_active=False))
    db.session.commit()
    held = [emit_one(org_id)[1][0] for _ in range(2)]
    assert api.delete(f"/webhooks/{endpoint_id}").status_code == 204

    row = endpoint_row(endpoint_id)
    # Two delivered; the test send exhausted; the failed one and the two held cancelled.
    assert (row.delivered_count, row.exhausted_count, row.cancelled_count) == (2, 1, 3)
    assert [delivery(i).status for i in held] == ["cancelled", "cancelled"]


def test_recording_attempts_leaves_the_endpoint_as_edited_and_an_edit_reaches_the_worker(
    app, api, org, receiver
):
    """Counters are not an edit: the endpoint's updatedAt stays through its deliveries. An
    edit moves it, and the next attempt goes out as edited (the worker's copy is renewed)."""
    endpoint_id, _ = make_endpoint(org, receiver.url)
    org_id = org.id
    before = api.get(f"/webhooks/{endpoint_id}").get_json()["updatedAt"]
    emit_one(org_id)
    emit_one(org_id)
    run_worker(app)
    assert len(receiver.requests) == 2
    assert api.get(f"/webhooks/{endpoint_id}").get_json()["updatedAt"] == before

    changed = api.patch(f"/webhooks/{endpoint_id}", json={
        "headers": [{"name": "X-Team", "value": "blue"}],
    })
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["updatedAt"] != before
    emit_one(org_id)
    run_worker(app)
    assert len(receiver.requests) == 3
    assert receiver.requests[-1].headers.get("X-Team") == "blue"
    assert "X-Team" not in receiver.requests[0].headers
