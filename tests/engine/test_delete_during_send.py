"""Issue 13, scenario 2: a user deletes an endpoint while one of its deliveries is being
sent. Whatever the receiver answers, the delivery ends cancelled with the attempt recorded,
and it is never sent again."""
import pytest

from tests.reliability.harness import wait_until

from .workers import run_due_work


@pytest.mark.parametrize("answer", [500, 200])
def test_deleting_the_endpoint_mid_send_cancels_the_delivery_after_the_send(
    app, tenant, receiver, background_worker, answer
):
    endpoint_id = tenant.create_endpoint(receiver.url)
    receiver.hold(answer)
    [delivery_id] = tenant.emit()
    worker = background_worker()
    receiver.wait_for(1)

    assert tenant.call("DELETE", f"/webhooks/{endpoint_id}").status_code == 204
    receiver.release()
    wait_until(lambda: tenant.delivery(delivery_id)["attemptList"], 15,
               what="the attempt in flight to be recorded")
    assert worker.stop()
    run_due_work(app)

    shown = tenant.delivery(delivery_id)
    assert (shown["status"], shown["nextAttemptAt"]) == ("cancelled", None)
    [attempt] = shown["attemptList"]
    assert (attempt["number"], attempt["responseStatus"]) == (1, answer)
    assert shown["attempts"] == 1
    assert receiver.sent(delivery_id) == 1
