"""Custom body templates: placeholders, escaping, errors that say what and where, presets."""
import json

import pytest

from app import catalog
from app.services.body_templates import (
    PRESETS,
    BodyTemplateError,
    check_against_samples,
    render,
    sample_payload,
)

PAYLOAD = {
    "event_id": "e-1",
    "event_type": "scan.completed",
    "timestamp": "2025-01-15T14:30:00.000Z",
    "data": {"company": "c", "project": {"name": 'Say "hi"\n'}, "issues_found": 8},
}


def test_placeholders_outside_strings_insert_json_values():
    body = render('{"all": {{payload}}, "n": {{data.issues_found}}, "t": {{time}}, '
                  '"missing": {{data.nope.deeper}}}', PAYLOAD)
    assert body == json.dumps({"all": PAYLOAD, "n": 8, "t": 1736951400, "missing": None},
                              separators=(",", ":")).encode()


def test_placeholders_inside_strings_insert_escaped_text():
    result = json.loads(render('{"text": "{{event_type}} in {{ data.project.name }}: '
                               '{{data.issues_found}} ({{event_id}}, {{timestamp}})"}', PAYLOAD))
    assert result == {"text": 'scan.completed in Say "hi"\n: 8 (e-1, 2025-01-15T14:30:00.000Z)'}


def test_output_is_compact_utf8():
    assert render('{ "a" : "é" }', PAYLOAD) == '{"a":"é"}'.encode()


@pytest.mark.parametrize(("template", "where"), [
    ('{"a": 1,}', "line 1 column 9"),
    ('{\n  "a": {{payload}}\n  "b": 2\n}', "line 3 column 3"),
    ('{"a": "unterminated}', "line 1 column 7"),
    ("", "line 1 column 1"),
])
def test_parse_errors_say_what_and_where_in_the_template(template, where):
    with pytest.raises(BodyTemplateError) as caught:
        render(template, PAYLOAD)
    message = str(caught.value)
    assert message.startswith("Custom body is not valid JSON: ") and where in message


@pytest.mark.parametrize(("template", "kind"), [
    ("[{{payload}}]", "an array"), ('"{{event_type}}"', "a string"), ("{{time}}", "a number"),
    ("null", "null"),
])
def test_result_must_be_an_object(template, kind):
    with pytest.raises(BodyTemplateError, match=f"must be a JSON object, not {kind}"):
        render(template, PAYLOAD)


def test_unknown_placeholder_is_named():
    with pytest.raises(BodyTemplateError, match=r"unknown placeholder \{\{secret\}\} at line 1"):
        render('{"a": {{secret}}}', PAYLOAD)


def test_check_against_samples_names_the_event_type():
    template = '{"n": {{data.issues_found}}}'
    check_against_samples(template, ["scan.completed", "user.login"])
    with pytest.raises(BodyTemplateError, match="for the user.login sample"):
        check_against_samples('{"u": "{{data.username}}" {{data.user_id}}}', ["user.login"])


@pytest.mark.parametrize("event_type", [event.type for event in catalog.CATALOG])
def test_presets_give_what_each_service_needs(event_type):
    payload = sample_payload(event_type)
    slack = json.loads(render(PRESETS["slack"], payload))
    assert isinstance(slack["text"], str) and event_type in slack["text"]
    teams = json.loads(render(PRESETS["teams"], payload))
    assert teams["@type"] == "MessageCard" and teams["summary"] and teams["text"]
    pagerduty = json.loads(render(PRESETS["pagerduty"], payload))
    assert pagerduty["event_action"] == "trigger" and pagerduty["routing_key"]
    assert {"summary", "source", "severity"} <= set(pagerduty["payload"])
    assert pagerduty["payload"]["severity"] in ("critical", "error", "warning", "info")
    splunk = json.loads(render(PRESETS["splunk"], payload))
    assert splunk["event"] == payload and isinstance(splunk["time"], int)
