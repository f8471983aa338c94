"""Issue 13, scenario 5: every send ends by an absolute deadline, however slowly a receiver
drips its answer, and Test sends run on a worker instead of in the web process."""
import pytest

from tests.misbehaving import drip_body, drip_headers

from .workers import drain, timed_in_thread

TIMEOUT = 2
# The deadline plus room for the job around the send: far below the 12 s a send took.
LIMIT = 2 * TIMEOUT + 2

pytestmark = pytest.mark.slow


@pytest.fixture
def config_overrides():
    return {"WEBHOOK_TIMEOUT_SECONDS": TIMEOUT}


@pytest.mark.parametrize("drip", [drip_body, drip_headers])
def test_a_dripping_receiver_is_cut_off_at_the_deadline(app, tenant, servers, drip):
    server = servers(drip(interval=1.0))
    tenant.create_endpoint(server.url)
    [delivery_id] = tenant.emit()

    _, took, overran = timed_in_thread(app, lambda: drain(app), LIMIT, server.stop)

    assert not overran, f"the worker was still sending after {LIMIT} s (it took {took:.1f} s)"
    [attempt] = tenant.delivery(delivery_id)["attemptList"]
    assert "Timed out" in attempt["error"], attempt["error"]
    assert attempt["durationMs"] <= 2 * TIMEOUT * 1000
    assert server.connections == 1, "the delivery was sent again while it dripped"


def test_a_test_send_to_a_dripping_receiver_does_not_hold_the_web_thread(
    app, tenant, servers, background_worker
):
    server = servers(drip_headers(interval=1.0))
    endpoint_id = tenant.create_endpoint(server.url)
    background_worker()
    client = app.test_client()

    def press_test():
        return client.post(f"/api/sch/org/webhooks/{endpoint_id}/test",
                           json={"eventType": "scan.completed"}, headers=tenant.headers)

    response, took, overran = timed_in_thread(app, press_test, LIMIT, server.stop)

    assert not overran, f"the Test call was still waiting after {LIMIT} s (took {took:.1f} s)"
    assert response.status_code in (200, 202), response.get_json()
    assert server.connections == 1


def test_test_sends_run_on_a_worker(app, tenant, receiver, background_worker):
    endpoint_id = tenant.create_endpoint(receiver.url)

    # No worker running: the web process queues the send and answers with what to poll.
    queued = tenant.call("POST", f"/webhooks/{endpoint_id}/test",
                         json={"eventType": "scan.completed"})
    assert queued.status_code == 202, queued.get_json()
    assert queued.get_json()["status"] == "pending"
    assert receiver.requests == [], "the web process sent it"
    delivery_id = queued.get_json()["deliveryId"]
    drain(app)
    [attempt] = tenant.delivery(delivery_id)["attemptList"]
    assert (attempt["trigger"], attempt["responseStatus"]) == ("test", 200)
    assert receiver.sent(delivery_id) == 1

    # With a worker running, the call waits for the attempt and answers with its result.
    background_worker()
    answered = tenant.call("POST", f"/webhooks/{endpoint_id}/test",
                           json={"eventType": "scan.completed"})
    assert answered.status_code == 200, answered.get_json()
    result = answered.get_json()
    assert (result["succeeded"], result["responseStatus"], result["responseBody"],
            result["error"]) == (True, 200, "ok", None)
    assert isinstance(result["durationMs"], int)
    assert receiver.sent(result["deliveryId"]) == 1
