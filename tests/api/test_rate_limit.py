"""API_RATE_LIMIT: each token has its own limit, 429 with Retry-After and the error object
beyond it; Redis being down does not turn API calls into errors. Before, there was no
limit per token at all, though the OpenAPI document promised 429."""
import pytest

from app.embedded_redis import free_port
from tests import factories
from tests.conftest import ApiClient


@pytest.fixture
def config_overrides():
    return {"API_RATE_LIMIT": "3 per minute"}


def test_a_token_beyond_its_limit_gets_429_with_retry_after(api):
    statuses = [api.get("/webhooks").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = api.post("/events", json={"eventType": "scan.completed", "data": {}})
    assert refused.status_code == 429
    # Whole seconds until the minute's window lets the token through, rounded up.
    assert 0 < int(refused.headers["Retry-After"]) <= 61
    assert refused.get_json() == {"error": {
        "code": "rate_limited",
        "message": "Too many requests (the limit is 3 per 1 minute): wait the seconds "
                   "Retry-After gives, then try again"}}


def test_each_token_has_its_own_limit(api, client, org):
    for _ in range(3):
        api.get("/webhooks")
    assert api.get("/webhooks").status_code == 429
    same_org = ApiClient(client, factories.make_token(org, "second")[1])
    assert same_org.get("/webhooks").status_code == 200
    other_org = ApiClient(client, factories.make_token(factories.make_org("Other"))[1])
    assert other_org.get("/webhooks").status_code == 200


def test_calls_with_a_bad_token_are_limited_too(client):
    bad = ApiClient(client, "hkl_not-a-real-token")
    assert [bad.get("/webhooks").status_code for _ in range(4)] == [401, 401, 401, 429]


def test_the_openapi_document_promises_429_on_every_call(client):
    document = client.get("/api/sch/org/openapi.json").get_json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters" and operation.get("security") != []:
                assert "429" in operation["responses"], (path, method)


def test_redis_down_does_not_fail_api_calls(make_app, org, token):
    """The limiter fails open: with Redis unreachable, calls are served, and counted per
    process in memory until Redis is back."""
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
                   API_RATE_LIMIT="1000 per minute")
    down = ApiClient(app.test_client(), token)
    with app.app_context():
        assert down.get("/webhooks").status_code == 200
        created = down.post("/webhooks", json={"name": "R", "url": "https://93.184.215.14/h",
                                               "events": ["scan.completed"]})
        assert created.status_code == 201
        emitted = down.post("/events", json={"eventType": "scan.completed",
                                             "data": {"scan_id": "s-1"}})
        assert emitted.status_code == 202, emitted.get_json()
