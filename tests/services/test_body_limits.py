"""WEBHOOK_MAX_BODY_BYTES: no body larger than the limit is built or sent. An amplifying
template stops while rendering, with bounded memory; before, {"a":[{{payload}} ×100]} on a
200 KB event rendered, stored and sent 20 MB."""
import json
import tracemalloc

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Delivery, Endpoint, Event
from app.services import body_templates, payloads
from tests.jobs.engine import attempts_of, run_worker

MIB = 1024 * 1024
AMPLIFIER = '{"a": [' + ", ".join(["{{payload}}"] * 100) + "]}"


def big_payload(kilobytes):
    return {"event_id": "e-1", "event_type": "scan.completed",
            "timestamp": "2025-01-15T14:30:00.000Z",
            "data": {"blob": "x" * (kilobytes * 1024)}}


def test_an_amplifying_template_stops_early_with_bounded_memory():
    payload = big_payload(200)
    tracemalloc.start()
    try:
        with pytest.raises(body_templates.BodyTooLarge,
                           match="larger than the WEBHOOK_MAX_BODY_BYTES limit of 1048576 bytes"):
            body_templates.render(AMPLIFIER, payload, max_bytes=MIB)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The whole render would be 20 MB; stopping after six copies keeps it near 1 MB.
    assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_the_limit_is_on_the_bytes_sent_and_exact():
    payload = {"event_id": "e", "event_type": "t", "timestamp": "2025-01-15T14:30:00.000Z",
               "data": {"s": "é" * 100}}
    body = body_templates.render('{"s": "{{data.s}}"}', payload, max_bytes=10_000)
    size = len(body)  # é is 2 bytes in UTF-8: the limit counts bytes, not characters
    assert size == len('{"s":""}') + 200
    assert body_templates.render('{"s": "{{data.s}}"}', payload, max_bytes=size) == body
    with pytest.raises(body_templates.BodyTooLarge):
        body_templates.render('{"s": "{{data.s}}"}', payload, max_bytes=size - 1)


def test_template_whitespace_does_not_count_against_the_limit():
    payload = big_payload(1)
    exact = len(body_templates.render('{"p": {{payload}}}', payload, max_bytes=MIB))
    spaced = "{\n" + " " * 5000 + '"p": {{payload}}\n}'
    assert len(body_templates.render(spaced, payload, max_bytes=exact)) == exact


def test_the_default_payload_is_held_to_the_limit_too(make_app):
    text = json.dumps(big_payload(3))
    small = make_app(WEBHOOK_MAX_BODY_BYTES=2048)
    with small.app_context(), pytest.raises(body_templates.BodyTooLarge) as refused:
        payloads.request_body(text, None)
    assert str(refused.value) == (f"The payload is {len(text)} bytes, more than the "
                                  "WEBHOOK_MAX_BODY_BYTES limit of 2048 bytes")
    # The engine records any BodyTemplateError as a failed attempt with its message.
    assert isinstance(refused.value, body_templates.BodyTemplateError)


@pytest.fixture
def endpoint_id(api, receiver):
    response = api.post("/webhooks", json={"name": "Amplified", "url": receiver.url,
                                           "events": ["scan.completed"],
                                           "bodyTemplate": AMPLIFIER})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_an_amplified_delivery_fails_with_the_limit_and_sends_nothing(app, api, receiver,
                                                                      endpoint_id):
    response = api.post("/events", json={"eventType": "scan.completed",
                                         "data": {"scan_id": "s-1", "blob": "x" * 200_000}})
    assert response.status_code == 202
    run_worker(app)
    delivery_id = db.session.execute(select(Delivery.id)).scalar_one()
    attempt = attempts_of(delivery_id)[0]
    assert attempt.error == ("Custom body is larger than the WEBHOOK_MAX_BODY_BYTES limit of "
                             "1048576 bytes")
    assert not attempt.request_body or len(attempt.request_body) < MIB
    assert receiver.requests == []


@pytest.mark.parametrize("config_overrides", [{"WEBHOOK_MAX_BODY_BYTES": 2048}])
def test_a_template_over_the_limit_is_refused_when_saved(api, receiver):
    template = '{"text": "' + "x" * 3000 + '"}'
    response = api.post("/webhooks", json={"name": "Big", "url": receiver.url,
                                           "events": ["scan.completed"],
                                           "bodyTemplate": template})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["bodyTemplate"] == (
        "Custom body is larger than the WEBHOOK_MAX_BODY_BYTES limit of 2048 bytes "
        "(for the scan.completed sample)")
    assert db.session.execute(select(func.count(Endpoint.id))).scalar_one() == 0


def test_an_event_whose_payload_would_pass_the_limit_is_refused(api, receiver):
    """Event data within MAX_CONTENT_LENGTH can still make a larger payload: 1e15 is 4
    bytes in the request and 18 in the payload (1000000000000000.0)."""
    api.post("/webhooks", json={"name": "R", "url": receiver.url,
                                "events": ["scan.completed"]})
    body = b'{"eventType": "scan.completed", "data": {"scan_id": "s-1", "n": [' + b",".join(
        [b"1e15"] * 200_000) + b"]}}"
    assert len(body) < MIB
    response = api.post("/events", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    message = response.get_json()["error"]["fields"]["data"]
    assert message.startswith("The event's payload would be ")
    assert message.endswith("bytes, more than the WEBHOOK_MAX_BODY_BYTES limit of "
                            "1048576 bytes")
    assert db.session.execute(select(func.count(Event.id))).scalar_one() == 0


def test_an_event_just_under_the_limit_is_taken(api, receiver):
    api.post("/webhooks", json={"name": "R", "url": receiver.url,
                                "events": ["scan.completed"]})
    response = api.post("/events", json={"eventType": "scan.completed",
                                         "data": {"scan_id": "s-1", "blob": "x" * (MIB - 4096)}})
    assert response.status_code == 202


def test_rendering_without_an_app_uses_the_default_limit():
    assert body_templates.DEFAULT_MAX_BODY_BYTES == MIB
    with pytest.raises(body_templates.BodyTooLarge):
        payloads.request_body(json.dumps(big_payload(200)), AMPLIFIER)
