"""Hostile input: header injection, oversize and malformed bodies, markup shown on pages,
spreadsheet formulas in exports and SQL-looking filter values."""
import csv
import io
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Endpoint
from app.services import deliveries, events

from .. import factories
from ..jobs.engine import attempt_now
from ..reliability.figures import record
from .test_access import calls

PUBLIC_URL = "https://93.184.215.14/hook"
TALLY = {}


def count(surface, response):
    """Tally one hostile input and its answer for the figures table."""
    entry = TALLY.setdefault(surface, {"inputs": 0, "server_errors": 0})
    entry["inputs"] += 1
    entry["server_errors"] += response.status_code >= 500
    return response


@pytest.fixture(scope="module", autouse=True)
def _figures():
    yield
    for surface, figures in TALLY.items():
        record(f"Injection: {surface}", **figures)


def endpoint_count():
    return db.session.execute(select(func.count(Endpoint.id))).scalar_one()


def create(api, **fields):
    body = {"name": "Ops", "url": PUBLIC_URL, "events": ["scan.completed"], **fields}
    return count("header CR/LF/NUL and oversize", api.post("/webhooks", json=body))


BAD_HEADERS = [
    ({"name": "X-A\r\nX-Injected", "value": "1"}, "is not valid"),
    ({"name": "X-A\nB", "value": "1"}, "is not valid"),
    ({"name": "X-A\x00", "value": "1"}, "is not valid"),
    ({"name": "X-A:", "value": "1"}, "is not valid"),
    ({"name": "X-Api-Key", "value": "k\r\nX-Injected: 1"}, "must not contain CR, LF or NUL"),
    ({"name": "X-Api-Key", "value": "k\nX-Injected: 1"}, "must not contain CR, LF or NUL"),
    ({"name": "X-Api-Key", "value": "k\rX"}, "must not contain CR, LF or NUL"),
    ({"name": "X-Api-Key", "value": "k\x00"}, "must not contain CR, LF or NUL"),
    ({"name": "X-Api-Key", "value": "v" * 4097}, "at most 4 KB"),
    ({"name": "Host", "value": "evil.example"}, "set by Hookline"),
    ({"name": "X-Hookline-Signature", "value": "forged"}, "set by Hookline"),
]


@pytest.mark.parametrize(("header", "message"), BAD_HEADERS)
def test_header_injection_is_refused_by_the_api(api, header, message):
    response = create(api, headers=[header])
    assert response.status_code == 422
    assert message in json.dumps(response.get_json()["error"]["fields"])
    assert endpoint_count() == 0


@pytest.mark.parametrize(("header", "message"), BAD_HEADERS)
def test_header_injection_is_refused_by_the_form(client, auth, org, header, message):
    auth.login(factories.make_user(org, "admin").email)
    response = count("header CR/LF/NUL and oversize", client.post(
        "/organization/webhooks/new", data={
            "name": "Ops", "url": PUBLIC_URL, "type": "other", "events": ["scan.completed"],
            "retry_policy": "standard", "headers-0-name": header["name"],
            "headers-0-value": header["value"], "save": "Save"}))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    # The message sits with the header row (quotes of a repr may be escaped).
    assert message.split(" ")[-1] in text and 'id="headers-0-name"' in text
    assert "is-invalid" in text
    assert endpoint_count() == 0


def test_more_than_twenty_headers_are_refused(api):
    response = create(api, headers=[{"name": f"X-H{n}", "value": "v"} for n in range(21)])
    assert response.status_code == 422
    assert "At most 20" in response.get_json()["error"]["fields"]["headers"]


def test_oversize_bodies_are_413_on_the_api_and_the_form(api, client, auth, org):
    big = "x" * (1024 * 1024 + 1)
    response = count("oversize bodies", api.post("/webhooks", json={"name": big}))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    response = count("oversize bodies", api.post("/events", json={
        "eventType": "scan.completed", "data": {"blob": big}}))
    assert response.status_code == 413 and response.is_json
    auth.login(factories.make_user(org, "admin").email)
    response = count("oversize bodies", client.post(
        "/organization/webhooks/new", data={"name": big, "url": PUBLIC_URL}))
    assert response.status_code == 413
    assert "<html" in response.get_data(as_text=True).lower()
    assert endpoint_count() == 0


@pytest.mark.parametrize("payload", [
    b'{"name": "\xff\xfe", "url": "https://93.184.215.14/"}',
    b'{"eventType": "scan.completed", "data": {"a": "\xc3\x28"}}',
    b"\xef\xbb\xbf\x00\x00",
    b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b"[" * 100_000,
    b'{"data": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}",
    b'{"name": "unterminated',
    b"NaN",
], ids=["invalid-utf8-name", "invalid-utf8-data", "bom-and-nul", "deep-array-in-object",
        "deep-array", "deep-object", "unterminated", "nan"])
@pytest.mark.parametrize("path", ["/webhooks", "/events"])
def test_malformed_json_is_a_400_error_object(api, path, payload):
    response = count("invalid UTF-8 and deeply nested JSON", api.post(
        path, data=payload, headers={"Content-Type": "application/json"}))
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert response.get_json()["error"]["code"] == "bad_request"


def test_deep_but_parseable_event_data_is_stored_and_shown(api, client, auth, org, receiver):
    """Nesting the parser accepts must not break ingest, sending or the pages later."""
    api.post("/webhooks", json={"name": "Deep", "url": receiver.url,
                                "events": ["scan.completed"]})
    deep = {}
    for _ in range(400):
        deep = {"a": deep}
    response = count("invalid UTF-8 and deeply nested JSON", api.post(
        "/events", json={"eventType": "scan.completed", "data": {"scan_id": "s-1", "deep": deep}}))
    assert response.status_code == 202, response.get_data(as_text=True)[:300]
    delivery_id = db.session.execute(select(deliveries.Delivery.id).where(
        deliveries.Delivery.event_id == response.get_json()["eventId"])).scalar_one()
    attempt_now(delivery_id)
    assert receiver.wait_for(1)[0].json()["data"]["deep"]["a"]["a"] is not None
    auth.login(factories.make_user(org, "admin").email)
    for path in ("/organization/webhooks/history", f"/organization/webhooks/history/{delivery_id}"):
        assert count("invalid UTF-8 and deeply nested JSON", client.get(path)).status_code == 200


MARK = '<script>alert("{}")</script>'


def test_markup_is_escaped_on_every_page(app, api, client, auth, org, receiver):
    org_id = org.id
    admin = factories.make_user(org, "admin", name=MARK.format("user"))
    factories.make_token(org, name=MARK.format("token"))
    created = api.post("/webhooks", json={
        "name": MARK.format("name"),
        "description": MARK.format("description") + '<img src=x onerror=alert("img")>',
        "url": PUBLIC_URL + '?q=<script>alert("url")</script>',
        "events": ["scan.completed"],
        "bodyTemplate": '{"text": "<script>alert(\\"template\\")</script> {{event_type}}"}',
        "headers": [{"name": "X-Api-Key", "value": MARK.format("header")}],
    })
    assert created.status_code == 201, created.get_json()
    hostile = api.post("/webhooks", json={
        "name": MARK.format("receiver-endpoint"), "url": receiver.url + "/in",
        "events": ["scan.completed"]}).get_json()
    receiver.answer(body=MARK.format("response").encode(),
                    headers={"X-Evil": MARK.format("response-header")})
    ingested = events.ingest(org_id, "scan.completed", {
        "project": {"id": "p-1", "name": MARK.format("project")},
        "note": MARK.format("data")})
    # Only the delivery to the local receiver is sent: no traffic leaves 127.0.0.1.
    sent = db.session.execute(select(deliveries.Delivery.id).where(
        deliveries.Delivery.id.in_(ingested.delivery_ids),
        deliveries.Delivery.endpoint_id == hostile["id"])).scalars().all()
    assert len(sent) == 1 and attempt_now(sent[0]).response_status == 200
    assert receiver.wait_for(1)[0].json()["data"]["note"] == MARK.format("data")

    auth.login(admin.email)
    ids = {"endpoint_id": hostile["id"], "delivery_id": sent[0], "token_id": 1,
           "filename": "hookline.css", "name": "slack"}
    pages, escaped_seen = 0, set()
    for kind, _name, method, path in calls(app, ids):
        if kind != "page" or method != "GET":
            continue
        response = count("markup in names, URLs, templates, responses", client.get(path))
        assert response.status_code < 500, path
        if not response.mimetype == "text/html":
            continue
        pages += 1
        text = response.get_data(as_text=True)
        assert "<script>alert(" not in text, path
        assert "<img src=x onerror" not in text, path
        escaped_seen |= {word for word in ("name", "description", "url", "template", "response",
                                           "project", "data", "token", "receiver-endpoint",
                                           "response-header")
                         if f"alert(&#34;{word}&#34;)" in text or f"alert(\\&#34;{word}" in text
                         or f"alert(&#34;{word}" in text}
    # The edit page of the first endpoint and a re-rendered form too.
    for path in (f"/organization/webhooks/{created.get_json()['id']}/edit",):
        text = client.get(path).get_data(as_text=True)
        assert "<script>alert(" not in text
        pages += 1
    rerendered = client.post("/organization/webhooks/new", data={
        "name": MARK.format("form"), "url": "javascript:alert(1)", "type": "other",
        "events": ["scan.completed"], "retry_policy": "standard",
        "body_template": MARK.format("form-template"), "save": "Save"})
    assert rerendered.status_code == 422
    assert "<script>alert(" not in rerendered.get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;form&#34;)" in rerendered.get_data(as_text=True)
    record("Injection: pages checked for unescaped markup", pages=pages + 1,
           values_seen_escaped=len(escaped_seen), unescaped=0)
    assert {"name", "description", "url", "response", "token", "receiver-endpoint"} <= \
        escaped_seen, escaped_seen


FORMULAS = ["=HYPERLINK(\"http://evil\")", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "\r=1"]


def test_csv_formula_cells_are_neutralized(app, org, api, client, auth):
    endpoint = factories.make_endpoint(org, name=FORMULAS[0], url=PUBLIC_URL)
    for formula in FORMULAS:
        factories.make_delivery(endpoint, "failed", last_error=formula)
    auth.login(factories.make_user(org, "admin").email)
    for fetch in (lambda: api.get("/webhook-deliveries/export.csv"),
                  lambda: client.get("/organization/webhooks/history/export.csv")):
        response = count("CSV formula cells", fetch())
        assert response.status_code == 200
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        assert len(rows) == len(FORMULAS)
        assert {row["last_error"] for row in rows} == {"'" + f for f in FORMULAS}
        assert {row["endpoint_name"] for row in rows} == {"'" + FORMULAS[0]}
        for row in rows:
            assert not any(cell[:1] in "=+-@\t\r" for cell in row.values() if cell)


SQLISH = ["' OR '1'='1", "1; DROP TABLE deliveries; --", "\" OR 1=1 --", "%' --",
          "scan.completed' UNION SELECT id FROM users --", "0x27", "\\'; --"]


@pytest.mark.parametrize("name", ["from", "to", "eventType", "status", "webhook", "cursor"])
def test_sql_looking_filter_values_are_harmless(app, org, api, client, auth, name):
    mine = factories.make_endpoint(org)
    factories.make_delivery(mine, "failed")
    other = factories.make_endpoint(factories.make_org("Other"))
    theirs = factories.make_delivery(other, "failed")
    auth.login(factories.make_user(org, "viewer").email)
    for value in SQLISH:
        response = count("SQL-looking filter values", api.get(
            "/webhook-deliveries", query_string={name: value}))
        assert response.status_code in (200, 400, 422), (name, value, response.status_code)
        assert theirs.id not in response.get_data(as_text=True)
        if response.status_code != 200:
            assert name in response.get_json()["error"]["fields"]
        page = count("SQL-looking filter values", client.get(
            "/organization/webhooks/history", query_string={name: value}))
        assert page.status_code == 200 and theirs.id not in page.get_data(as_text=True)
        export = count("SQL-looking filter values", api.get(
            "/webhook-deliveries/export.csv", query_string={name: value}))
        assert export.status_code in (200, 400, 422), (name, value)
        assert theirs.id not in export.get_data(as_text=True)
    # The tables are all still there and intact.
    assert db.session.execute(select(func.count(deliveries.Delivery.id))).scalar_one() == 2


def test_oversize_request_headers_and_query_strings_are_refused_cleanly(client, api):
    huge = "x" * 100_000
    response = count("oversize bodies", client.get(
        "/api/sch/org/webhooks", headers={"Authorization": "Bearer " + huge}))
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    response = count("oversize bodies", api.get("/webhook-deliveries",
                                                query_string={"eventType": huge}))
    assert response.status_code == 422
    assert len(response.get_data()) < 2000  # the value is not echoed back whole
