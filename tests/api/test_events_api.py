"""POST /events and POST /webhooks/{id}/test through the API, against a real receiver."""
import json

from sqlalchemy import select

from app.extensions import db
from app.models import Attempt, AuditEntry, Delivery
from tests import factories
from tests.jobs.engine import make_endpoint, run_worker


def test_post_events_answers_202_with_the_delivery_count(app, api, org, receiver):
    make_endpoint(org, receiver.url + "/a")
    make_endpoint(org, receiver.url + "/b")
    make_endpoint(org, receiver.url + "/c", events=["scan.failed"])

    response = api.post("/events", json={"eventType": "scan.completed", "data": {"scan_id": "s-1"}})

    assert response.status_code == 202
    assert response.json["deliveries"] == 2
    run_worker(app)
    got = receiver.wait_for(2)
    assert sorted(r.path for r in got) == ["/a", "/b"]
    assert {r.json()["event_id"] for r in got} == {response.json["eventId"]}


def test_post_events_refuses_unknown_type_and_non_object_data(app, api, org):
    factories.make_endpoint(org)
    unknown = api.post("/events", json={"eventType": "scan.exploded", "data": {}})
    listed = api.post("/events", json={"eventType": "scan.completed", "data": "x"})
    assert unknown.status_code == 422
    assert unknown.json["error"]["fields"] == {"eventType": "Unknown event type: 'scan.exploded'"}
    assert listed.status_code == 422 and "data" in listed.json["error"]["fields"]
    assert db.session.execute(select(Delivery)).first() is None


def test_test_send_records_a_test_delivery_and_shows_the_result(app, api, org, receiver, worker):
    endpoint_id, _ = make_endpoint(org, receiver.url, events=["scan.completed", "scan.failed"])
    receiver.answer(201, b'{"received": true}')

    response = api.post(f"/webhooks/{endpoint_id}/test", json={"eventType": "scan.failed"})

    assert response.status_code == 200
    body = response.json
    assert (body["status"], body["succeeded"], body["responseStatus"]) == ("delivered", True, 201)
    assert body["responseBody"] == '{"received": true}'
    sent = receiver.wait_for(1)[0]
    assert sent.json()["event_type"] == "scan.failed"
    assert sent.json()["data"]["company"] == org.id
    attempt = db.session.execute(select(Attempt)).scalar_one()
    assert (attempt.trigger, attempt.delivery_id) == ("test", body["deliveryId"])
    audit = db.session.execute(select(AuditEntry).where(AuditEntry.action == "endpoint.test"))
    assert audit.scalar_one().details["event_type"] == "scan.failed"


def test_test_send_reports_a_failure_without_retrying(app, api, org, receiver, worker):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    receiver.answer(503, b"down for maintenance")

    body = api.post(f"/webhooks/{endpoint_id}/test", json={"eventType": "scan.completed"}).json

    assert (body["status"], body["succeeded"], body["responseStatus"]) == (
        "exhausted", False, 503
    )
    assert body["responseBody"] == "down for maintenance"
    assert app.redis.zcard("rq:scheduler:scheduled_jobs") == 0


def test_test_send_works_on_a_paused_endpoint(app, api, org, receiver, worker):
    endpoint_id, _ = make_endpoint(org, receiver.url, isActive=False)
    body = api.post(f"/webhooks/{endpoint_id}/test", json={"eventType": "scan.completed"}).json
    assert body["status"] == "delivered"
    assert len(receiver.wait_for(1)) == 1


def test_test_send_refuses_types_the_endpoint_does_not_take(app, api, org, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    response = api.post(f"/webhooks/{endpoint_id}/test", json={"eventType": "user.login"})
    assert response.status_code == 422
    assert "eventType" in response.json["error"]["fields"]
    assert receiver.requests == []


def test_test_send_to_another_organizations_webhook_is_404(app, api, receiver):
    other = factories.make_org("Other")
    endpoint_id, _ = make_endpoint(other, receiver.url)
    response = api.post(f"/webhooks/{endpoint_id}/test", json={"eventType": "scan.completed"})
    assert response.status_code == 404
    assert receiver.requests == []


def test_viewer_session_cannot_test(app, client, org, auth, receiver):
    viewer = factories.make_user(org, "viewer")
    endpoint_id, _ = make_endpoint(org, receiver.url)
    auth.login(viewer.email)
    response = client.post(
        f"/api/sch/org/webhooks/{endpoint_id}/test", json={"eventType": "scan.completed"}
    )
    assert response.status_code in (401, 403)
    assert json.loads(response.data)["error"]


def test_post_events_checks_data_against_the_schema_and_names_the_field(app, api, org):
    factories.make_endpoint(org)
    response = api.post("/events", json={"eventType": "scan.completed",
                                         "data": {"scan_id": "s-1", "project": {"id": 9}}})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "data.project.id": "data.project.id must be a string"}
    missing = api.post("/events", json={"eventType": "scan.completed", "data": {}})
    assert missing.json["error"]["fields"] == {"data.scan_id": "data.scan_id is required"}
    assert db.session.execute(select(Delivery)).first() is None


def test_post_events_refuses_the_types_hookline_sends_about_itself(app, api, org):
    response = api.post("/events", json={
        "eventType": "webhook.disabled",
        "data": {"webhook": {"id": "x"}, "reason": "r", "disabled_at": "now"}})
    assert response.status_code == 422
    assert "sent by Hookline itself" in response.json["error"]["fields"]["eventType"]


def test_catalog_lists_each_type_with_its_schema(api):
    from jsonschema import Draft202012Validator

    listed = api.get("/webhook-events").json["data"]
    assert {item["type"] for item in listed} >= {"scan.completed", "webhook.disabled"}
    for item in listed:
        validator = Draft202012Validator(item["schema"])
        assert validator.is_valid(item["sample"]), item["type"]
        assert not validator.is_valid({}), item["type"]


def test_post_events_without_event_type_says_it_is_required(app, api, org):
    for body in ({"data": {}}, {"eventType": None, "data": {}}, {"eventType": "", "data": {}}):
        response = api.post("/events", json=body)
        assert response.status_code == 422
        assert response.json["error"]["message"] == "eventType is required"
        assert response.json["error"]["fields"] == {"eventType": "eventType is required"}
