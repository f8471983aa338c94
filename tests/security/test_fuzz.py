"""Schemathesis over the OpenAPI document against the running app: every documented call,
valid and invalid input, aimed at this organization's rows, another's, and at random ids."""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis import checks as st_checks

from app.api import openapi
from app.extensions import db
from app.models import Delivery, Endpoint
from app.services import crypto, endpoints

from .. import factories
from ..reliability.figures import record

OPERATIONS = [(path, method.upper()) for path, build in openapi.PATHS.items()
              for method in build() if method != "parameters"]
CHECKS = [st_checks.not_a_server_error, st_checks.status_code_conformance,
          st_checks.content_type_conformance, st_checks.response_schema_conformance]
TALLY = {"operations": 0, "calls": 0, "server_errors": 0, "schema_violations": 0,
         "aimed_at_another_org": 0, "other_org_reached": 0}


@pytest.fixture
def config_overrides():
    """HTTPS only. Private targets are allowed so that saving an endpoint never resolves a
    generated hostname: the fuzzer must not send DNS queries off this machine. The seeded
    endpoints point at 127.0.0.1:9, where nothing listens."""
    return {"WEBHOOK_ALLOW_HTTP": False, "WEBHOOK_ALLOW_PRIVATE_TARGETS": True}


@pytest.fixture(scope="module", autouse=True)
def _figures():
    yield
    record("Fuzzing: schemathesis over the OpenAPI document", **TALLY)


def test_every_api_route_is_in_the_document(app, api):
    document = api.get("/openapi.json").get_json()
    documented = {("/api/sch/org" + path.replace("{id}", "<>"), method.upper())
                  for path, item in document["paths"].items() for method in item
                  if method != "parameters"}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/sch/org/"):
            path = rule.rule
            for argument in rule.arguments:
                path = path.replace(f"<{argument}>", "<>")
            served |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served - documented == set()


def seed(org, url):
    """An endpoint with a failed, an exhausted and a delivered delivery; returns their ids."""
    endpoint = factories.make_endpoint(
        org, url=url, events=["scan.completed", "scan.started"],
        secret_encrypted=crypto.encrypt(endpoints.generate_secret()))
    made = [factories.make_delivery(endpoint, status) for status in
            ("failed", "exhausted", "delivered")]
    return {"webhooks": endpoint.id, "webhook-deliveries": made[0].id}


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_fuzz_finds_no_5xx_no_schema_break_and_no_other_tenant(app, org, token, path, method):
    mine = seed(org, "https://127.0.0.1:9/in")
    theirs = seed(factories.make_org("Other"), "https://127.0.0.1:9/in")
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/sch/org/openapi.json", app, headers=headers)
    operation = schema[path][method]
    strategy = st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                         operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    collection = path.split("/")[1]
    TALLY["operations"] += 1

    @settings(max_examples=20, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy, aim=st.sampled_from(["random", "mine", "theirs"]))
    def run(case, aim):
        aimed = aim != "random" and "id" in (case.path_parameters or {})
        if aimed:
            target = (mine if aim == "mine" else theirs)[collection]
            case.path_parameters = {**case.path_parameters, "id": target}
        response = case.call(headers=headers)
        TALLY["calls"] += 1
        TALLY["server_errors"] += response.status_code >= 500
        assert response.status_code < 500, response.text
        if aimed and aim == "theirs":
            TALLY["aimed_at_another_org"] += 1
            TALLY["other_org_reached"] += response.status_code < 400
            assert response.status_code in (400, 401, 404, 413, 415, 422), response.text
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception:
            TALLY["schema_violations"] += 1
            raise

    run()
    db.session.expire_all()
    assert db.session.get(Endpoint, theirs["webhooks"]).deleted_at is None
    assert db.session.get(Delivery, theirs["webhook-deliveries"]).status == "failed"
