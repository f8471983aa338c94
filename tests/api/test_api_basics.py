"""API authentication, the catalog call, and the JSON error object for every 4xx."""
import pytest

from app import catalog
from app.models import ApiToken
from app.services import tokens
from tests import factories


def error_of(response):
    assert response.is_json, response.data[:200]
    return response.get_json()["error"]


def test_catalog_lists_all_types(api):
    response = api.get("/webhook-events")
    assert response.status_code == 200
    types = [item["type"] for item in response.get_json()["data"]]
    assert types == [event.type for event in catalog.CATALOG]
    assert len(types) == 13
    scan = next(i for i in response.get_json()["data"] if i["type"] == "scan.completed")
    assert scan["sample"]["issues_found"] == 8 and "company" in scan["sample"]


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "bearer hkl_" + "x" * 300],
)
def test_missing_or_bad_token_is_401_json(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/sch/org/webhook-events", headers=headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_revoked_token_is_401(client, org):
    token, plaintext = factories.make_token(org)
    tokens.revoke_token(org.id, token.id)
    response = client.get(
        "/api/sch/org/webhook-events", headers={"Authorization": f"Bearer {plaintext}"}
    )
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


def test_token_stored_only_as_hash(app, org):
    token, plaintext = factories.make_token(org)
    rows = app.extensions["sqlalchemy"].session.execute(
        ApiToken.__table__.select()
    ).mappings().all()
    assert all(plaintext not in str(dict(row)) for row in rows)
    assert token.token_hash == tokens.hash_token(plaintext)


def test_token_use_is_recorded(api, org):
    api.get("/webhook-events")
    assert ApiToken.query.filter_by(org_id=org.id).one().last_used_at is not None


def test_unknown_api_route_is_json_404(api):
    response = api.get("/no-such-thing")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_wrong_method_is_json_405(api):
    response = api.delete("/webhook-events")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


def test_wrong_content_type_is_415(api):
    response = api.post("/events", data="eventType=scan.completed",
                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "body", [b"{not json", b"\xff\xfe\x00", b"[1, 2]", b"[" * 100000 + b"]" * 100000]
)
def test_bad_json_is_400(api, body):
    response = api.post("/events", data=body, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


def test_oversized_body_is_413(api):
    response = api.post("/events", data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                        content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_unknown_event_type_is_422(api):
    response = api.post("/events", json={"eventType": "nope.nope", "data": {}})
    assert response.status_code == 422
    assert "eventType" in error_of(response)["fields"]


def test_non_object_data_is_422(api):
    response = api.post("/events", json={"eventType": "scan.completed", "data": [1]})
    assert response.status_code == 422
    assert "data" in error_of(response)["fields"]


def test_token_last_use_is_written_at_most_once_a_minute(api, org):
    from datetime import timedelta

    from freezegun import freeze_time

    from app.extensions import db

    with freeze_time("2026-01-05 10:00:00"):
        api.get("/webhook-events")
    first = db.session.execute(ApiToken.for_org(org.id)).scalar_one().last_used_at
    with freeze_time("2026-01-05 10:00:40"):
        api.get("/webhook-events")
    db.session.expire_all()
    assert db.session.execute(ApiToken.for_org(org.id)).scalar_one().last_used_at == first
    with freeze_time("2026-01-05 10:01:05"):
        api.get("/webhook-events")
    db.session.expire_all()
    later = db.session.execute(ApiToken.for_org(org.id)).scalar_one().last_used_at
    assert later - first == timedelta(seconds=65)
