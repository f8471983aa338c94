"""Issue 13, scenario 10: a delivery that cannot be sent or whose answer cannot be stored
fails alone. It is recorded as a failed attempt with a clear error (or stored safely), and
every other delivery of the batch, from another organization, is sent and recorded once."""
import json

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Endpoint
from app.services import crypto

from .workers import drain

POISONED_VALUE = "tok€n"  # € is outside Latin-1: it cannot go into an HTTP header
OTHERS = 20


def poison_headers(endpoint_id):
    """Store a header value outside Latin-1 on the endpoint, as saves allowed before."""
    headers = [{"name": "X-Token", "value": POISONED_VALUE}]
    db.session.execute(update(Endpoint).where(Endpoint.id == endpoint_id)
                       .values(headers_encrypted=crypto.encrypt(json.dumps(headers))))
    db.session.commit()


@pytest.mark.parametrize("call", [
    ("POST", "/webhooks"),
    ("PATCH", "/webhooks/{id}"),
])
def test_a_header_value_outside_latin_1_is_refused_at_save(tenant, receiver, call):
    endpoint_id = tenant.create_endpoint(receiver.url)
    method, path = call
    body = {"headers": [{"name": "X-Token", "value": POISONED_VALUE}]}
    if method == "POST":
        body |= {"name": "Second", "url": receiver.url, "events": ["scan.completed"]}

    response = tenant.call(method, path.format(id=endpoint_id), json=body)

    assert response.status_code == 422, response.get_json()
    assert "headers" in response.get_json()["error"]["fields"]


def others_batch(other_tenant, receiver, poisoned_tenant):
    """B's 20 deliveries with A's poisoned one in the middle, all due together; returns
    (A's delivery id, B's delivery ids)."""
    other_tenant.create_endpoint(receiver.url)
    before = other_tenant.emit(OTHERS // 2)
    [poisoned] = poisoned_tenant.emit()
    return poisoned, before + other_tenant.emit(OTHERS - OTHERS // 2)


def assert_each_sent_and_recorded_once(tenant, receiver, delivery_ids):
    sent = receiver.per_delivery()
    assert {delivery_id: sent[delivery_id] for delivery_id in delivery_ids} == dict.fromkeys(
        delivery_ids, 1)
    shown = [tenant.delivery(delivery_id) for delivery_id in delivery_ids]
    assert [(d["status"], len(d["attemptList"])) for d in shown] == [("delivered", 1)] * len(
        delivery_ids)


def test_an_unsendable_header_fails_its_delivery_alone(
    app, tenant, other_tenant, receivers
):
    poisoned_receiver, others_receiver = receivers(), receivers()
    poison_headers(tenant.create_endpoint(poisoned_receiver.url))
    poisoned, others = others_batch(other_tenant, others_receiver, tenant)

    drain(app)

    attempts = tenant.delivery(poisoned)["attemptList"]
    assert len(attempts) == 1, "the poisoned delivery has no recorded attempt"
    assert "header" in (attempts[0]["error"] or "").lower(), attempts[0]
    assert tenant.delivery(poisoned)["status"] == "failed"
    assert_each_sent_and_recorded_once(other_tenant, others_receiver, others)


@pytest.mark.parametrize("body", [b"ok\x00bad", b"ok\xffbad"], ids=["nul", "invalid-utf-8"])
def test_an_unstorable_response_body_is_stored_safely(
    app, tenant, other_tenant, receivers, body
):
    odd_receiver, others_receiver = receivers(), receivers()
    odd_receiver.answer(200, body)
    tenant.create_endpoint(odd_receiver.url)
    answered_oddly, others = others_batch(other_tenant, others_receiver, tenant)

    drain(app)

    attempts = tenant.delivery(answered_oddly)["attemptList"]
    assert len(attempts) == 1, "the attempt answered with that body was not recorded"
    stored = attempts[0]["responseBody"]
    assert "\x00" not in stored and stored.startswith("ok") and stored.endswith("bad"), (
        repr(stored))
    assert "\ufffd" in stored, repr(stored)
    assert_each_sent_and_recorded_once(other_tenant, others_receiver, others)


@pytest.mark.parametrize("poison", ["header", "nul-body"])
def test_the_test_button_never_answers_500(
    app, tenant, receiver, background_worker, signed_in, poison
):
    endpoint_id = tenant.create_endpoint(receiver.url)
    if poison == "header":
        poison_headers(endpoint_id)
    else:
        receiver.answer(200, b"ok\x00bad")
    background_worker()

    response = tenant.call("POST", f"/webhooks/{endpoint_id}/test",
                           json={"eventType": "scan.completed"})
    page = signed_in.post(f"/organization/webhooks/{endpoint_id}/test",
                          data={"event_type": "scan.completed"})

    assert (response.status_code, page.status_code) == (200, 200), response.get_json()
    result = response.get_json()
    if poison == "header":
        assert result["succeeded"] is False and "header" in result["error"].lower(), result
    else:
        assert result["succeeded"] is True and "\x00" not in result["responseBody"], result
