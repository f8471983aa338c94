"""What a receiver gets: the default payload of an event and the body actually sent."""
import json

from . import body_templates


def iso_ms(moment):
    """ISO-8601 UTC with milliseconds and Z: 2025-01-15T14:30:00.000Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def compact_json(value):
    """Compact UTF-8 JSON text, the one encoding used for every body Hookline sends."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def envelope(event_id, event_type, created_at, data):
    """The SPEC §4 default payload as a dict (what payload filters look into)."""
    return {
        "event_id": event_id,
        "event_type": event_type,
        "timestamp": iso_ms(created_at),
        "data": data,
    }


def default_payload(event_id, event_type, created_at, data):
    """The SPEC §4 default payload as compact JSON text."""
    return compact_json(envelope(event_id, event_type, created_at, data))


def request_body(payload_text, body_template):
    """The bytes to send: the custom body rendered from the payload, or the payload itself.

    Raises body_templates.BodyTemplateError when the template does not give a JSON object.
    """
    if body_template:
        return body_templates.render(body_template, json.loads(payload_text))
    return payload_text.encode("utf-8")
