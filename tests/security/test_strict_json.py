"""Strict JSON: NaN, Infinity, numbers that overflow and lone surrogates are refused with
the field named, in event data, in templates and in every API body; what Hookline sends
is always valid UTF-8 JSON. Before, some of these answered 500 and the others were
forwarded to receivers as NaN or Infinity."""
import json

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.jobs.enqueue import enqueue_deliveries
from app.models import Delivery, Endpoint, Event, utcnow
from app.services import body_templates, crypto, endpoints, events, payloads
from tests import factories
from tests.jobs.engine import attempts_of, run_worker

# (name, raw JSON value, status): NaN and Infinity are not JSON at all (400); the others
# are grammatical JSON that no receiver can be sent (422).
NOT_STRICT = [
    ("nan", b"NaN", 400),
    ("infinity", b"Infinity", 400),
    ("minus-infinity", b"-Infinity", 400),
    ("overflow", b"1e999", 422),
    ("negative-overflow", b"-1e999", 422),
    ("lone-high-surrogate", b'"\\ud800"', 422),
    ("lone-low-surrogate", b'"a\\udc00b"', 422),
]
IDS = [name for name, _value, _status in NOT_STRICT]


def raw_post(api, path, body):
    return api.post(path, data=body, headers={"Content-Type": "application/json"})


def stored(model):
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def subscribed(api, receiver):
    """An endpoint that takes scan.completed, so an event makes a delivery."""
    response = api.post("/webhooks", json={"name": "R", "url": receiver.url,
                                           "events": ["scan.completed"]})
    assert response.status_code == 201
    return response.get_json()["id"]


@pytest.mark.parametrize(("name", "value", "status"), NOT_STRICT, ids=IDS)
def test_event_data_that_is_not_strict_json_is_refused(api, subscribed, name, value, status):
    body = b'{"eventType": "scan.completed", "data": {"scan": {"score": [1, ' + value + b"]}}}"
    response = raw_post(api, "/events", body)
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert "data" in error["fields"]
    assert "(at data.scan.score[1])" in error["fields"]["data"]
    assert stored(Event) == 0 and stored(Delivery) == 0


@pytest.mark.parametrize(("name", "value", "status"), NOT_STRICT, ids=IDS)
def test_every_api_body_is_strict(api, subscribed, name, value, status):
    response = raw_post(api, "/webhooks", b'{"name": ' + value + b', "url": "https://x.test/"}')
    assert response.status_code == status
    assert list(response.get_json()["error"]["fields"]) == ["name"]
    response = api.patch(f"/webhooks/{subscribed}", data=b'{"isActive": ' + value + b"}",
                         headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert list(response.get_json()["error"]["fields"]) == ["isActive"]


@pytest.mark.parametrize(("name", "value", "status"), NOT_STRICT, ids=IDS)
def test_body_templates_that_are_not_strict_json_are_refused(api, receiver, name, value,
                                                             status):
    template = '{"text": "{{event_type}}", "score": ' + value.decode() + "}"
    response = api.post("/webhooks", json={"name": "T", "url": receiver.url,
                                           "events": ["scan.completed"],
                                           "bodyTemplate": template})
    assert response.status_code == 422
    message = response.get_json()["error"]["fields"]["bodyTemplate"]
    assert message.startswith("Custom body is not valid JSON: ")
    assert "(at score)" in message and "scan.completed sample" in message
    assert stored(Endpoint) == 0


def test_the_form_shows_the_template_error_next_to_the_field(client, auth, org):
    auth.login(factories.make_user(org, "admin").email)
    response = client.post("/organization/webhooks/new", data={
        "name": "Ops", "url": "https://93.184.215.14/hook", "type": "other",
        "events": ["scan.completed"], "retry_policy": "standard",
        "body_template": '{"ratio": NaN, "s": "\\ud800"}', "save": "Save"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    position = page.index('id="body_template"')
    assert "Custom body is not valid JSON: NaN is not a JSON value (at ratio)" in (
        page[position:position + 3000])
    assert stored(Endpoint) == 0


def test_the_cli_refuses_event_data_that_is_not_strict(runner, org):
    result = runner.invoke(args=["emit", "--org", org.id, "scan.completed", '{"a": NaN}'])
    assert result.exit_code != 0 and "NaN is not a JSON value (at a)" in result.output
    assert stored(Event) == 0


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), "\ud800",
                                 {"\udfff": 1}], ids=["nan", "inf", "-inf", "str", "key"])
def test_ingest_from_code_never_stores_or_sends_what_json_cannot_carry(app, org, subscribed,
                                                                       bad):
    with pytest.raises(events.EventError) as refused:
        events.ingest(org.id, "scan.completed", {"nested": [bad]})
    assert refused.value.field == "data"
    assert "(at data.nested[0]" in str(refused.value)
    assert stored(Event) == 0 and stored(Delivery) == 0


def test_the_payload_builder_refuses_rather_than_emit_nan(app):
    with pytest.raises(ValueError, match="NaN"):
        payloads.compact_json({"a": float("nan")})
    with pytest.raises(ValueError, match="surrogate"):
        payloads.compact_json({"a": "\ud800"})


@pytest.mark.parametrize("template", ['{"a": NaN}', '{"a": 1e999}', '{"a": "\\udc00"}'])
def test_a_stored_template_that_is_not_strict_fails_its_attempt_and_sends_nothing(
        app, api, receiver, subscribed, template):
    """A template saved before this rule (or written around it) fails each attempt with
    the reason, as any template error does; the receiver never sees NaN or Infinity."""
    db.session.execute(update(Endpoint).values(body_template=template))
    db.session.commit()
    response = api.post("/events", json={"eventType": "scan.completed",
                                         "data": {"scan_id": "s-1"}})
    assert response.status_code == 202
    run_worker(app)
    delivery_id = db.session.execute(select(Delivery.id)).scalar_one()
    attempt = attempts_of(delivery_id)[0]
    assert attempt.error.startswith("Custom body is not valid JSON: ")
    assert "(at a)" in attempt.error
    assert receiver.requests == []


def test_templates_render_only_strict_json(app):
    payload = body_templates.sample_payload("scan.completed")
    for template in ('{"a": NaN}', '{"a": -Infinity}', '{"a": 1e400}', '{"a": "\\ud800"}',
                     '{"\\udbff": 1}'):
        with pytest.raises(body_templates.BodyTemplateError, match="(at a|at \\\\udbff)"):
            body_templates.render(template, payload)
    # A valid pair of surrogates is one character, sent as UTF-8.
    body = body_templates.render('{"a": "\\ud83d\\ude00"}', payload)
    assert json.loads(body) == {"a": "😀"} and body.decode("utf-8")


@pytest.mark.parametrize("template", [None, '{"wrapped": {{payload}}}'])
def test_a_payload_stored_before_the_rule_fails_its_attempt_and_sends_nothing(
        app, org, receiver, template):
    """Rows made before payloads were built strictly may hold NaN: they are refused at
    send time, as a failed attempt of that delivery alone, never sent as NaN."""
    endpoint = factories.make_endpoint(
        org, url=receiver.url, body_template=template,
        secret_encrypted=crypto.encrypt(endpoints.generate_secret()))
    bad = factories.make_delivery(
        endpoint, "pending", next_attempt_at=utcnow(),
        payload='{"event_id":"e","event_type":"scan.completed",'
                '"timestamp":"2025-01-15T14:30:00.000Z","data":{"score":NaN}}')
    good = factories.make_delivery(endpoint, "pending", next_attempt_at=utcnow())
    bad_id, good_id = bad.id, good.id
    enqueue_deliveries([bad_id, good_id])
    run_worker(app)
    assert attempts_of(bad_id)[0].error == (
        "The payload is not valid JSON: NaN is not a JSON value (at data.score)")
    assert attempts_of(good_id)[0].succeeded
    assert len(receiver.requests) == 1 and b"NaN" not in receiver.requests[0].body
