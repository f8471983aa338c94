"""The default payload of SPEC §4 and the body actually sent."""
import json
from datetime import UTC, datetime

import pytest

from app.services import body_templates, payloads

MOMENT = datetime(2025, 1, 15, 14, 30, 0, 123456, tzinfo=UTC)


def test_default_payload_is_compact_json_in_the_spec_order():
    text = payloads.default_payload("e-1", "scan.completed", MOMENT, {"company": "c-1", "n": 1})
    assert text == (
        '{"event_id":"e-1","event_type":"scan.completed",'
        '"timestamp":"2025-01-15T14:30:00.123Z","data":{"company":"c-1","n":1}}'
    )


def test_default_payload_keeps_unicode_as_utf8():
    text = payloads.default_payload("e-1", "scan.completed", MOMENT, {"name": "Zoë"})
    assert "Zoë" in text
    assert payloads.request_body(text, None) == text.encode("utf-8")


def test_custom_template_renders_placeholders():
    text = payloads.default_payload(
        "e-1", "scan.completed", MOMENT, {"project": {"name": 'Say "hi"'}, "n": 3}
    )
    body = payloads.request_body(
        text,
        '{"text": "{{event_type}} on {{data.project.name}}", "n": {{data.n}}, '
        '"at": {{time}}, "all": {{payload}}}',
    )
    sent = json.loads(body)
    assert sent["text"] == 'scan.completed on Say "hi"'
    assert sent["n"] == 3
    assert sent["at"] == int(MOMENT.timestamp())
    assert sent["all"] == json.loads(text)


def test_template_that_is_not_a_json_object_is_refused():
    text = payloads.default_payload("e-1", "scan.completed", MOMENT, {})
    with pytest.raises(body_templates.BodyTemplateError) as refused:
        payloads.request_body(text, '{"a": }')
    assert str(refused.value).startswith("Custom body is not valid JSON: ")
