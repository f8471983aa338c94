"""The OpenAPI document, and schemathesis checking the running app against it."""
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis import checks as st_checks

from app.api import openapi

from .. import factories


def test_document_describes_every_endpoint_call(client):
    response = client.get("/api/sch/org/openapi.json")  # no token needed
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    paths = document["paths"]
    assert set(paths["/webhooks"]) == {"get", "post"}
    assert {"get", "patch", "delete"} <= set(paths["/webhooks/{id}"])
    assert "post" in paths["/webhooks/{id}/rotate-secret"]
    assert "get" in paths["/webhook-events"] and "post" in paths["/events"]
    for path, item in paths.items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            if operation.get("security") != []:
                assert "401" in operation["responses"], (path, method)
    # Each documented path and method is a route of the running app.
    from flask import current_app

    rules = {(re.sub(r"<\w+>", "{id}", rule.rule), method)
             for rule in current_app.url_map.iter_rules() for method in rule.methods}
    for path, item in paths.items():
        rule = "/api/sch/org" + path
        for method in item:
            if method != "parameters":
                assert (rule, method.upper()) in rules, (path, method)


@pytest.fixture
def config_overrides():
    """HTTPS only. Private targets are allowed so that saving an endpoint never resolves a
    generated hostname: the run must not send DNS queries off this machine."""
    return {"WEBHOOK_ALLOW_HTTP": False, "WEBHOOK_ALLOW_PRIVATE_TARGETS": True}


# /test sends a request at once, in the calling process: generated endpoints have arbitrary
# URLs, so it is left to the tests that point endpoints at the local receiver.
SENDS_NOW = ("/webhooks/{id}/test",)
OPERATIONS = [(path, method.upper()) for path, build in openapi.PATHS.items()
              for method in build() if method != "parameters" and path not in SENDS_NOW]
CHECKS = [st_checks.not_a_server_error, st_checks.status_code_conformance,
          st_checks.content_type_conformance, st_checks.response_schema_conformance]


# The public description takes no input at all, so there is nothing invalid to send it.
NO_INPUT = {("/openapi.json", "GET")}
CASES = [(path, method, mode) for path, method in OPERATIONS
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode == GenerationMode.POSITIVE or (path, method) not in NO_INPUT]


@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_running_app_conforms_and_never_answers_5xx(app, org, token, path, method, mode):
    """Generated requests (valid and invalid) against the app as it serves its document."""
    from app.services import endpoints

    live, _ = endpoints.create_endpoint(org.id, None, {
        "name": "Seed", "url": "https://127.0.0.1:9/", "events": ["scan.completed"]})
    live_id = live.id
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/sch/org/openapi.json", app, headers=headers)
    operation = schema[path][method]
    calls = []

    @settings(max_examples=15, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode), aim=st.booleans())
    def run(case, aim):
        if aim and case.path_parameters and "id" in case.path_parameters:
            # Aim at the seeded endpoint too, so reads and changes are exercised, not only 404s.
            case.path_parameters = {**case.path_parameters, "id": live_id}
        response = case.call(headers=headers)
        calls.append(response.status_code)
        assert response.status_code < 500, response.text
        case.validate_response(response, checks=CHECKS)

    run()
    assert calls


def test_second_token_cannot_reach_first_org_through_any_documented_call(api, client):
    created = api.post("/webhooks", json={"name": "A", "url": "https://93.184.215.14/",
                                          "events": ["scan.completed"]}).get_json()
    other = type(api)(client, factories.make_token(factories.make_org("B"))[1])
    document = api.get("/openapi.json").get_json()
    for path, item in document["paths"].items():
        if "{id}" not in path:
            continue
        for method in item:
            if method == "parameters":
                continue
            response = getattr(other, method)(path.replace("{id}", created["id"]), json={})
            assert response.status_code == 404, (method, path)


def test_document_describes_options_schemas_and_idempotency(client):
    document = client.get("/api/sch/org/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    for name in ("payloadFilter", "rateLimit", "ordered"):
        assert name in schemas["Endpoint"]["required"]
        assert name in schemas["EndpointCreate"]["properties"]
        assert name in schemas["EndpointUpdate"]["properties"]
    assert schemas["EndpointCreate"]["additionalProperties"] is False
    assert schemas["EndpointUpdate"]["additionalProperties"] is False
    assert schemas["PayloadCondition"]["properties"]["op"]["enum"][:3] == ["eq", "ne", "in"]
    assert "schema" in schemas["EventType"]["required"]
    assert "webhook.disabled" not in schemas["EventInput"]["properties"]["eventType"]["enum"]
    emit = document["paths"]["/events"]["post"]
    assert [p["name"] for p in emit["parameters"]] == ["Idempotency-Key"]
    assert {"200", "202", "409", "422"} <= set(emit["responses"])
    assert "Idempotent-Replayed" in emit["responses"]["200"]["headers"]
