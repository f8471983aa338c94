"""Issue 13, scenario 1: a user retries a failed delivery while its automatic retry is being
sent. Nothing starts a second send of it, and the attempt in flight decides its state."""
import pytest

from tests.reliability.harness import wait_until

from .pages import flashed
from .workers import run_due_work

HISTORY = "/organization/webhooks/history"


@pytest.fixture
def retry_in_flight(tenant, receiver, background_worker):
    """A failed delivery whose automatic retry is being sent right now: its first attempt
    got a 500 and the receiver holds its answer (a 200) to the retry. Returns its id."""
    tenant.create_endpoint(receiver.url, retryPolicy="quick")
    receiver.queue(500)
    receiver.hold(200)
    [delivery_id] = tenant.emit()
    background_worker()
    receiver.wait_for(2)
    assert tenant.delivery(delivery_id)["status"] == "failed"
    return delivery_id


def settle(app, tenant, receiver, delivery_id):
    """The held retry answers 200 and is recorded; then the scheduler's due retries and the
    sweeper run, so a delivery left re-armed would be sent again. Returns the delivery."""
    receiver.release()
    wait_until(lambda: tenant.delivery(delivery_id)["status"] == "delivered", 15,
               what="the retry in flight to be recorded")
    run_due_work(app)
    return tenant.delivery(delivery_id)


def assert_sent_by_the_retry_in_flight_alone(receiver, shown):
    """Sent twice (the 500, then the retry that was in flight), never two at once; the
    record matches what the receiver got."""
    delivery_id = shown["id"]
    assert receiver.most_at_once(delivery_id) == 1, "two sends of the delivery at once"
    assert receiver.sent(delivery_id) == 2
    assert shown["status"] == "delivered" and shown["deliveredAt"] is not None
    assert shown["nextAttemptAt"] is None
    assert shown["attempts"] == len(shown["attemptList"]) == receiver.sent(delivery_id)
    assert [a["responseStatus"] for a in shown["attemptList"]] == [500, 200]


def test_api_retry_answers_409_delivery_in_flight(app, tenant, receiver, retry_in_flight):
    delivery_id = retry_in_flight

    response = tenant.call("POST", f"/webhook-deliveries/{delivery_id}/retry")
    run_due_work(app)  # a second worker drains while the first is still sending

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["code"] == "delivery_in_flight"
    assert_sent_by_the_retry_in_flight_alone(
        receiver, settle(app, tenant, receiver, delivery_id)
    )


def test_history_page_retry_says_the_delivery_is_being_sent(
    app, tenant, receiver, retry_in_flight, signed_in
):
    delivery_id = retry_in_flight

    response = signed_in.post(f"{HISTORY}/{delivery_id}/retry", data={"next": HISTORY},
                              follow_redirects=True)
    run_due_work(app)

    assert response.status_code == 200 and response.request.path == HISTORY
    assert any("being sent" in message for message in flashed(response)), flashed(response)
    assert_sent_by_the_retry_in_flight_alone(
        receiver, settle(app, tenant, receiver, delivery_id)
    )


def test_replay_skips_the_delivery_being_sent(app, tenant, receiver, retry_in_flight):
    delivery_id = retry_in_flight
    endpoint_id = tenant.delivery(delivery_id)["webhookId"]

    response = tenant.call("POST", f"/webhooks/{endpoint_id}/replay",
                           json={"since": "2000-01-01T00:00:00Z"})
    run_due_work(app)

    assert receiver.most_at_once(delivery_id) == 1, "replay started a second, concurrent send"
    assert response.status_code == 202 and response.get_json()["replayed"] == 0
    assert_sent_by_the_retry_in_flight_alone(
        receiver, settle(app, tenant, receiver, delivery_id)
    )


def test_bulk_retry_skips_the_delivery_being_sent(
    app, tenant, receiver, retry_in_flight, signed_in
):
    delivery_id = retry_in_flight

    response = signed_in.post(f"{HISTORY}/retry-all?status=failed", follow_redirects=True)
    assert any(message.startswith("Retrying") for message in flashed(response))
    run_due_work(app)  # the bulk retry job runs on a second worker, then whatever it queued

    assert receiver.most_at_once(delivery_id) == 1, (
        "bulk retry started a second, concurrent send"
    )
    assert_sent_by_the_retry_in_flight_alone(
        receiver, settle(app, tenant, receiver, delivery_id)
    )
