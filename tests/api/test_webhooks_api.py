"""The endpoint API: create, read, partial update, pause/resume, delete, rotate, errors."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, Endpoint, utcnow
from app.services import due_work

from .. import factories

PUBLIC_URL = "https://93.184.215.14/hook"


@pytest.fixture
def config_overrides():
    """The production address rule: https only, no private targets."""
    return {"WEBHOOK_ALLOW_HTTP": False, "WEBHOOK_ALLOW_PRIVATE_TARGETS": False}


def create(api, **fields):
    body = {"name": "Ops", "url": PUBLIC_URL, "events": ["scan.completed"], **fields}
    response = api.post("/webhooks", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_returns_secret_once_and_camel_case_fields(api):
    created = create(api, description="Slack #appsec", type="slack",
                     headers=[{"name": "X-Api-Key", "value": "key-123456789"}],
                     statuses=["fixed"], projects=["proj-uuid-9012"], retryPolicy="quick")
    assert created["secret"].startswith("whsec_")
    assert created["status"] == "pending"
    fresh = api.post("/webhooks", json={"name": "B", "url": PUBLIC_URL,
                                        "events": ["scan.completed"]})
    assert fresh.headers["Cache-Control"] == "no-store"
    assert fresh.headers["Location"].endswith(fresh.get_json()["id"])
    assert created["type"] == "slack"
    assert created["retryPolicy"] == "quick"
    assert created["headers"] == [{"name": "X-Api-Key", "value": "••••6789"}]
    assert created["stats"]["total"] == 0 and len(created["stats"]["daily"]) == 14
    assert created["createdAt"].endswith("Z")
    again = api.get(f"/webhooks/{created['id']}").get_json()
    assert "secret" not in again
    assert again["headers"] == [{"name": "X-Api-Key", "value": "••••6789"}]
    listed = api.get("/webhooks").get_json()
    assert created["id"] in [item["id"] for item in listed["data"]]
    assert listed["nextCursor"] is None
    assert all("secret" not in item for item in listed["data"])


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": "http://93.184.215.14/x"}, "url", "URL must use HTTPS"),
        ({"url": "https://user:pw@93.184.215.14/"}, "url", "username or password"),
        ({"url": "https://127.0.0.1/"}, "url", "blocked address"),
        ({"url": "https://169.254.169.254/latest"}, "url", "blocked address"),
        ({"url": 12}, "url", "URL is required"),
        ({"events": []}, "events", "Choose at least one event"),
        ({"events": "scan.completed"}, "events", "must be a list of strings"),
        ({"events": ["scan.exploded"]}, "events", "Unknown event type: scan.exploded"),
        ({"name": 42}, "name", "Name must be a string"),
        ({"name": ""}, "name", "Name is required"),
        ({"description": "x" * 501}, "description", "at most 500"),
        ({"type": "myspace"}, "type", "Type must be one of"),
        ({"retryPolicy": "eager"}, "retryPolicy", "Retry policy must be one of"),
        ({"statuses": ["sleeping"]}, "statuses", "Unknown issue status"),
        ({"headers": [{"name": "Host", "value": "x"}]}, "headers", "set by Hookline"),
        ({"headers": [{"name": "X-Hookline-Event", "value": "x"}]}, "headers",
         "set by Hookline"),
        ({"headers": [{"name": "webhook-id", "value": "x"}]}, "headers", "set by Hookline"),
        ({"headers": [{"name": "Bad Name", "value": "x"}]}, "headers", "is not valid"),
        ({"headers": [{"name": "X-A", "value": "a\r\nX-B: b"}]}, "headers", "CR, LF or NUL"),
        ({"headers": [{"name": "X-A", "value": "a" * 4097}]}, "headers", "at most 4 KB"),
        ({"headers": [{"name": f"X-{i}", "value": "v"} for i in range(21)]}, "headers",
         "At most 20"),
        ({"headers": "X-A: b"}, "headers", "must be a list"),
        ({"bodyTemplate": '{"text": {{event_type}}'}, "bodyTemplate",
         "Custom body is not valid JSON"),
        ({"bodyTemplate": "[1, 2]"}, "bodyTemplate", "must be a JSON object"),
        ({"isActive": "yes"}, "isActive", "true or false"),
    ],
)
def test_invalid_create_is_422_with_field_and_saves_nothing(api, body, field, message):
    full = {"name": "Ops", "url": PUBLIC_URL, "events": ["scan.completed"], **body}
    response = api.post("/webhooks", json=full)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert message in error["fields"][field]
    assert db.session.execute(select(Endpoint)).first() is None


def test_body_template_error_names_place_and_event_type(api):
    response = api.post("/webhooks", json={
        "name": "t", "url": PUBLIC_URL, "events": ["user.login"],
        "bodyTemplate": '{\n  "text": "{{event_type}}"\n  "x": 1\n}',
    })
    message = response.get_json()["error"]["fields"]["bodyTemplate"]
    assert message.startswith("Custom body is not valid JSON: ")
    assert "line 3 column 3" in message and "user.login" in message


def test_non_json_and_non_object_bodies_are_refused_cleanly(api):
    assert api.post("/webhooks", data="x", content_type="text/plain").status_code == 415
    assert api.post("/webhooks", data="{", content_type="application/json").status_code == 400
    assert api.post("/webhooks", json=[1]).status_code == 400


def test_unknown_and_read_only_keys_are_refused_by_name(api):
    body = {"name": "Ops", "url": PUBLIC_URL, "events": ["scan.completed"],
            "retryPolicyy": "quick", "colour": "blue", "secret": "whsec_mine", "id": "abc"}
    response = api.post("/webhooks", json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        "retryPolicyy": "Unknown field 'retryPolicyy'; did you mean retryPolicy?",
        "colour": "Unknown field 'colour'",
        "secret": "secret is read-only",
        "id": "id is read-only",
    }
    assert db.session.execute(select(Endpoint)).first() is None
    created = create(api)
    response = api.patch(f"/webhooks/{created['id']}", json={"name": "New", "isActve": False})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        "isActve": "Unknown field 'isActve'; did you mean isActive?"}
    assert api.get(f"/webhooks/{created['id']}").get_json()["name"] == "Ops"
    discard = api.post("/webhooks", json={**body, "discardHeld": True})
    assert "discardHeld" in discard.get_json()["error"]["fields"]


def test_patch_is_partial_and_keeps_header_values_left_blank(api):
    created = create(api, headers=[{"name": "Authorization", "value": "Bearer abcdefgh1234"}])
    response = api.patch(f"/webhooks/{created['id']}", json={
        "name": "Renamed", "headers": [{"name": "Authorization", "value": ""},
                                       {"name": "X-Extra", "value": "second-value"}],
    })
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "Renamed" and body["url"] == PUBLIC_URL
    assert body["headers"] == [{"name": "Authorization", "value": "••••1234"},
                               {"name": "X-Extra", "value": "••••alue"}]
    from app.services.endpoints import custom_headers

    endpoint = db.session.get(Endpoint, created["id"])
    assert custom_headers(endpoint) == [("Authorization", "Bearer abcdefgh1234"),
                                        ("X-Extra", "second-value")]
    # Sending back what GET shows keeps the saved values too.
    api.patch(f"/webhooks/{created['id']}", json={"headers": body["headers"]})
    db.session.expire_all()
    assert custom_headers(db.session.get(Endpoint, created["id"]))[0][1] == "Bearer abcdefgh1234"


def test_patch_invalid_changes_nothing(api):
    created = create(api)
    response = api.patch(f"/webhooks/{created['id']}",
                         json={"name": "New", "url": "https://10.0.0.5/"})
    assert response.status_code == 422
    assert "url" in response.get_json()["error"]["fields"]
    assert api.get(f"/webhooks/{created['id']}").get_json()["name"] == "Ops"


def test_patch_events_rechecks_saved_body_template(api):
    created = create(api, bodyTemplate='{"n": {{data.issues_found}}}')
    response = api.patch(f"/webhooks/{created['id']}", json={"events": ["user.login"]})
    assert response.status_code == 200
    bad = create(api, bodyTemplate='{"t": "{{event_type}}"}')
    response = api.patch(f"/webhooks/{bad['id']}", json={"bodyTemplate": "{{payload}} x"})
    assert response.status_code == 422


def test_pause_and_resume_clear_disabled_state(api):
    created = create(api)
    paused = api.patch(f"/webhooks/{created['id']}", json={"isActive": False}).get_json()
    assert paused["isActive"] is False and paused["status"] == "paused"
    endpoint = db.session.get(Endpoint, created["id"])
    from app.models import utcnow

    endpoint.disabled_at = utcnow()
    endpoint.disabled_reason = "5 attempts failed"
    endpoint.consecutive_failures = 5
    db.session.commit()
    assert api.get(f"/webhooks/{created['id']}").get_json()["status"] == "disabled"
    resumed = api.patch(f"/webhooks/{created['id']}", json={"isActive": True}).get_json()
    assert resumed["status"] == "pending"
    assert resumed["disabledAt"] is None and resumed["disabledReason"] is None
    assert resumed["stats"]["consecutiveFailures"] == 0
    actions = db.session.execute(select(AuditEntry.action)).scalars().all()
    assert actions.count("endpoint.pause") == 1 and actions.count("endpoint.resume") == 1


def test_delete_is_soft_and_then_404(api):
    created = create(api)
    assert api.delete(f"/webhooks/{created['id']}").status_code == 204
    assert api.get(f"/webhooks/{created['id']}").status_code == 404
    assert api.get("/webhooks").get_json()["data"] == []
    assert api.delete(f"/webhooks/{created['id']}").status_code == 404
    row = db.session.get(Endpoint, created["id"])
    assert row is not None and row.deleted_at is not None


def test_rotate_returns_new_secret_and_keeps_old_one_signing(api, app):
    created = create(api)
    rotated = api.post(f"/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200
    body = rotated.get_json()
    assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
    assert body["rotationInProgress"] is True
    assert rotated.headers["Cache-Control"] == "no-store"
    from app.services.endpoints import signing_secrets

    endpoint = db.session.get(Endpoint, created["id"])
    assert signing_secrets(endpoint) == [body["secret"], created["secret"]]
    assert "secret" not in api.get(f"/webhooks/{created['id']}").get_json()


def test_second_organization_gets_404_on_every_call(api, client):
    created = create(api)
    other = factories.make_org("Other")
    other_api = type(api)(client, factories.make_token(other)[1])
    path = f"/webhooks/{created['id']}"
    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, json={"name": "x"}).status_code == 404
    assert other_api.delete(path).status_code == 404
    assert other_api.post(path + "/rotate-secret").status_code == 404
    assert other_api.get("/webhooks").get_json()["data"] == []
    assert api.get(path).get_json()["name"] == "Ops"


def test_list_pages_with_cursor(api):
    ids = [create(api, name=f"E{i}")["id"] for i in range(3)]
    first = api.get("/webhooks?limit=2").get_json()
    assert len(first["data"]) == 2 and first["nextCursor"]
    second = api.get(f"/webhooks?limit=2&cursor={first['nextCursor']}").get_json()
    assert {e["id"] for e in first["data"] + second["data"]} == set(ids)
    assert second["nextCursor"] is None
    assert api.get("/webhooks?limit=0").status_code == 422
    assert api.get("/webhooks?cursor=nope").status_code == 422


def test_audit_rows_hold_no_secret_or_header_value(api):
    created = create(api, headers=[{"name": "X-Token", "value": "very-secret-header"}])
    api.patch(f"/webhooks/{created['id']}", json={"name": "B"})
    rotated = api.post(f"/webhooks/{created['id']}/rotate-secret").get_json()
    api.delete(f"/webhooks/{created['id']}")
    entries = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    assert [e.action for e in entries] == ["endpoint.create", "endpoint.update",
                                           "endpoint.rotate_secret", "endpoint.delete"]
    text = repr([e.details for e in entries])
    for secret in (created["secret"], rotated["secret"], "very-secret-header"):
        assert secret not in text


def test_resume_sends_held_deliveries_oldest_first_or_discards_them(api, app):
    from app.models import Delivery

    created = create(api)
    api.patch(f"/webhooks/{created['id']}", json={"isActive": False})
    endpoint = db.session.get(Endpoint, created["id"])
    older = factories.make_delivery(endpoint, status="pending")
    newer = factories.make_delivery(endpoint, status="failed")
    app.redis.flushdb()
    response = api.patch(f"/webhooks/{created['id']}", json={"isActive": True})
    assert response.get_json()["isActive"] is True
    # A job is queued that takes them, due now, oldest first.
    assert [job.args[0] for job in app.task_queue.jobs] == [[]]
    offered = due_work.fair_order(due_work.candidates(10))
    assert [due.id for due in offered] == [older.id, newer.id]
    db.session.expire_all()
    assert db.session.get(Delivery, newer.id).next_attempt_at <= utcnow()

    api.patch(f"/webhooks/{created['id']}", json={"isActive": False})
    held = factories.make_delivery(endpoint, status="pending")
    response = api.patch(f"/webhooks/{created['id']}",
                         json={"isActive": True, "discardHeld": True})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Delivery, held.id).status == "cancelled"


@pytest.mark.parametrize(("body", "field"), [
    ({"discardHeld": "yes"}, "discardHeld"),
    ({"name": "a\u0000b"}, "name"),
    ({"description": "\ud800"}, "description"),
    ({"bodyTemplate": '{"a": "\u0000"}'}, "bodyTemplate"),
])
def test_patch_refuses_wrong_types_and_unstorable_text(api, body, field):
    created = create(api)
    response = api.patch(f"/webhooks/{created['id']}", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_list_query_count_does_not_grow_with_endpoints(api):
    from sqlalchemy import event

    def queries_for_list():
        statements = []

        def listener(*args):
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert api.get("/webhooks").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    create(api)
    few = queries_for_list()
    for index in range(6):
        create(api, name=f"More {index}")
    assert queries_for_list() == few


@pytest.mark.parametrize("host", [
    "127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "224.0.0.1", "0.0.0.0", "240.0.0.1", "[::1]", "[fc00::1]", "[fe80::1]",
    "[::ffff:127.0.0.1]", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "localhost", "localhost.",
])
def test_every_blocked_address_spelling_is_422_through_the_api(api, host):
    response = api.post("/webhooks", json={"name": "x", "url": f"https://{host}/hook",
                                           "events": ["scan.completed"]})
    assert response.status_code == 422
    assert "blocked address" in response.get_json()["error"]["fields"]["url"]
    assert db.session.execute(select(Endpoint)).first() is None


@pytest.mark.parametrize("kind", ["slack", "teams", "pagerduty", "splunk"])
def test_a_typed_endpoint_without_a_body_gets_its_types_preset(api, kind):
    from app.services.body_templates import PRESETS

    created = create(api, type=kind)
    assert created["bodyTemplate"] == PRESETS[kind]
    chosen = create(api, type=kind, bodyTemplate=None)
    assert chosen["bodyTemplate"] is None
    assert create(api, type="jira")["bodyTemplate"] is None
    for bad in (["slack"], {"t": 1}, 5):
        response = api.post("/webhooks", json={"name": "Bad", "url": PUBLIC_URL, "type": bad,
                                               "events": ["scan.completed"]})
        assert response.status_code == 422 and "type" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(("url", "setting"), [
    ("http://93.184.215.14/x", "WEBHOOK_ALLOW_HTTP=1"),
    ("https://127.0.0.1/", "WEBHOOK_ALLOW_PRIVATE_TARGETS=1"),
    ("https://localhost/", "WEBHOOK_ALLOW_PRIVATE_TARGETS=1"),
])
def test_refused_local_urls_name_the_development_setting(api, url, setting):
    response = api.post("/webhooks", json={"name": "Local", "url": url,
                                           "events": ["scan.completed"]})
    assert response.status_code == 422
    assert setting in response.get_json()["error"]["fields"]["url"]
    assert "a local receiver in development needs" in response.get_json()["error"]["fields"][
        "url"]
