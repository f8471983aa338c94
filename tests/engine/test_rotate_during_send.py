"""A user rotates an endpoint's secret while one of its deliveries is being sent. The request
in flight was signed before the rotation and verifies with the old secret; the retry that
follows verifies with the new one and, during the grace period, with the old one too."""
from standardwebhooks import Webhook

from tests.reliability.harness import wait_until


def test_a_rotation_mid_send_leaves_every_request_verifiable(tenant, receiver, background_worker):
    created = tenant.call("POST", "/webhooks", json={
        "name": "Receiver", "url": receiver.url, "events": ["scan.completed"],
        "retryPolicy": "quick",
    })
    assert created.status_code == 201, created.get_json()
    endpoint_id, old = created.get_json()["id"], created.get_json()["secret"]
    receiver.hold(500)
    [delivery_id] = tenant.emit()
    background_worker()
    receiver.wait_for(1)

    rotated = tenant.call("POST", f"/webhooks/{endpoint_id}/rotate-secret")
    assert rotated.status_code == 200, rotated.get_json()
    new = rotated.get_json()["secret"]
    receiver.release()
    wait_until(lambda: tenant.delivery(delivery_id)["status"] == "delivered", 20,
               what="the retry after the rotation to be delivered")

    first, retry = receiver.requests
    Webhook(old).verify(first.body, first.headers)
    Webhook(new).verify(retry.body, retry.headers)
    Webhook(old).verify(retry.body, retry.headers)
    assert len(retry.headers["webhook-signature"].split(" ")) == 2
    shown = tenant.delivery(delivery_id)
    assert [a["responseStatus"] for a in shown["attemptList"]] == [500, 200]
