"""The API → Webhooks docs page: catalog samples, headers, retry schedules, custom bodies."""
import html
import json
import re

import pytest

from app import catalog
from app.services import body_templates, deliveries, endpoints

from . import factories


def _blocks(page, attribute):
    """{value of the attribute: text of the <pre> that carries it}."""
    pattern = rf'<pre[^>]*\b{attribute}="([^"]+)"[^>]*><code>(.*?)</code></pre>'
    found = re.findall(pattern, page, re.S)
    return {key: html.unescape(text) for key, text in found}


def _docs(client, user):
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    response = client.get("/docs/webhooks")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_docs_page_needs_a_login(client):
    response = client.get("/docs/webhooks")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_every_catalog_type_is_shown_with_the_payload_it_sends(client, org, admin):
    page = _docs(client, admin)
    samples = {key: json.loads(text) for key, text in _blocks(page, "data-sample").items()}
    assert set(samples) == set(catalog.EVENT_TYPES)
    for event_type, payload in samples.items():
        assert set(payload) == {"event_id", "event_type", "timestamp", "data"}
        assert payload["event_type"] == event_type
        assert payload["data"] == catalog.sample_data(event_type, org.id)
        assert payload["timestamp"].endswith("Z")
    for event in catalog.CATALOG:
        assert event.description in html.unescape(page)


def test_viewers_read_the_docs_too(client, org):
    viewer = factories.make_user(org, "viewer")
    assert "Verifying signatures" in _docs(client, viewer)


def test_headers_table_uses_the_configured_prefix_and_user_agent(make_app, org, admin):
    branded = make_app(WEBHOOK_HEADER_PREFIX="X-Acme", WEBHOOK_USER_AGENT="Acme-Hooks/2.0")
    page = _docs(branded.test_client(), admin)
    for name in ("X-Acme-Event", "X-Acme-Delivery", "X-Acme-Timestamp", "X-Acme-Signature",
                 "webhook-id", "webhook-timestamp", "webhook-signature", "Acme-Hooks/2.0"):
        assert f"<code>{name}</code>" in page
    assert "X-Hookline" not in page


def test_retry_schedules_come_from_the_settings(make_app, org, admin):
    app = make_app(WEBHOOK_RETRY_DELAYS_STANDARD=(30, 600, 5400),
                   WEBHOOK_RETRY_DELAYS_QUICK=(1, 3, 9), WEBHOOK_QUICK_PAUSE_AFTER=7)
    page = _docs(app.test_client(), admin)
    table = page[page.index('id="retry-policies"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    standard, quick = (re.sub(r"<[^>]+>", "", row).split() for row in rows)
    assert standard[:7] == ["standard", "(default)", "4", "30", "s", "→", "10"]
    assert "min → 90 min" in " ".join(standard)
    assert quick[:2] == ["quick", "4"]
    assert "1 s → 3 s → 9 s" in " ".join(quick)
    assert "After 7 consecutive failed attempts" in " ".join(quick)
    assert "(attempt 4)" in " ".join(standard)


@pytest.mark.parametrize("kind", ["slack", "teams", "pagerduty"])
def test_custom_body_examples_show_the_preset_and_what_it_sends(client, org, admin, kind):
    page = _docs(client, admin)
    template = _blocks(page, "data-template")[kind]
    rendered = _blocks(page, "data-rendered")[kind]
    assert template == body_templates.PRESETS[kind]
    sent = json.loads(body_templates.render(template, body_templates.sample_payload(
        "scan.completed", org.id)))
    assert json.loads(rendered) == sent


def test_the_sample_on_the_page_is_what_a_receiver_gets(client, org, admin, receiver, worker):
    page = _docs(client, admin)
    shown = json.loads(_blocks(page, "data-sample")["issue.assigned"])
    endpoint, _secret = endpoints.create_endpoint(
        org.id, admin, {"name": "Docs", "url": f"{receiver.url}/hook",
                        "events": ["issue.assigned"]})
    assert deliveries.test_webhook(org.id, admin, endpoint, "issue.assigned").attempt.succeeded
    received = receiver.wait_for(1)[0].json()
    assert list(received) == list(shown)
    assert received["data"] == shown["data"]
    assert received["event_type"] == shown["event_type"]


def test_each_sample_is_shown_beside_its_schema(client, org, admin):
    from jsonschema import Draft202012Validator

    page = _docs(client, admin)
    schemas = {key: json.loads(text) for key, text in _blocks(page, "data-schema").items()}
    samples = {key: json.loads(text) for key, text in _blocks(page, "data-sample").items()}
    assert set(schemas) == set(catalog.EVENT_TYPES)
    for event_type, schema in schemas.items():
        assert schema == catalog.get(event_type).schema
        assert Draft202012Validator(schema).is_valid(samples[event_type]["data"])
        block = page[page.index(f'data-sample="{event_type}"'):]
        assert block.index(f'data-schema="{event_type}"') < 3000  # beside it, not far away


def test_options_are_explained_with_examples_that_say_what_hookline_does(client, org, admin):
    from app.services import payload_filters

    page = html.unescape(_docs(client, admin))
    for anchor in ("payload-filter", "rate-limit", "ordered", "operational-events",
                   "sending-events"):
        assert f'id="{anchor}"' in page
    for op in payload_filters.OPS:
        assert f"<code>{op}</code>" in page
    assert "one failing delivery holds back every later one" in page
    assert '{"rateLimit": 5}' in page and '{"ordered": true}' in page
    assert "Idempotency-Key: scan-7890-completed" in page and "idempotency_key_reused" in page
    examples = _blocks(page, "data-filter-example")
    verdicts = dict(re.findall(r'data-filter-verdict="(\d+)">(.*?)</p>', page, re.S))
    assert examples and set(examples) == set(verdicts)
    for number, text in examples.items():
        conditions = json.loads(text.split(": ", 1)[1])
        event_type = re.search(r'<code>([a-z_.]+)</code> sample', verdicts[number]).group(1)
        passes = payload_filters.first_failing(
            payload_filters.clean(conditions), body_templates.sample_payload(event_type)) is None
        assert ("would be delivered" in verdicts[number]) is passes


def test_docs_state_the_retention_and_give_testing_tips(client, org, admin, app):
    app.config["WEBHOOK_RETENTION_DAYS"] = 45
    page = html.unescape(_docs(client, admin))
    assert '<strong id="retention-days">45 days</strong>' in page
    assert "Testing your endpoint" in page
    for tip in ("Send a sample with", "low-volume project", "success rate",
                "Alert on failures", f"within {app.config['WEBHOOK_TIMEOUT_SECONDS']} seconds",
                "WEBHOOK_ALLOW_HTTP=1"):
        assert tip in page


def test_the_idempotency_code_on_the_page_processes_each_event_once(client, org, admin):
    from app.services import docs

    page = _docs(client, admin)
    shown = re.search(r'id="snippet-idempotency"[^>]*><code>(.*?)</code>', page, re.S).group(1)
    source = docs.snippet_source(docs.IDEMPOTENCY_SNIPPET)
    assert html.unescape(shown) == source
    namespace = {"__name__": "idempotency"}
    exec(compile(source, "idempotency.py", "exec"), namespace)
    receiver = namespace["app"].test_client()
    event = {"event_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890", "event_type": "scan.completed",
             "timestamp": "2025-01-15T14:30:00.000Z", "data": {}}
    for _ in range(3):
        assert receiver.post("/webhook", json=event).status_code == 200
    assert receiver.post("/webhook", json={**event, "event_id": "other"}).status_code == 200
    assert namespace["handled"] == ["scan.completed", "scan.completed"]
