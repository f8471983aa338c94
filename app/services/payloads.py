"""What a receiver gets: the default payload of an event and the body actually sent."""

from flask import current_app, has_app_context

from . import body_templates, strict_json


def iso_ms(moment):
    """ISO-8601 UTC with milliseconds and Z: 2025-01-15T14:30:00.000Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def compact_json(value):
    """Compact UTF-8 JSON text, the one encoding used for every body Hookline sends;
    strict_json.JsonRefused rather than NaN, Infinity or a lone surrogate."""
    return strict_json.dumps(value)


def envelope(event_id, event_type, created_at, data):
    """The SPEC §4 default payload as a dict (what payload filters look into)."""
    return {
        "event_id": event_id,
        "event_type": event_type,
        "timestamp": iso_ms(created_at),
        "data": data,
    }


def default_payload(event_id, event_type, created_at, data):
    """The SPEC §4 default payload as compact JSON text; strict_json.JsonRefused (with
    where in data) if data holds what JSON cannot carry."""
    return compact_json(envelope(event_id, event_type, created_at, data))


def max_body_bytes():
    """WEBHOOK_MAX_BODY_BYTES of the running app (the default outside one)."""
    if has_app_context():
        return current_app.config["WEBHOOK_MAX_BODY_BYTES"]
    return body_templates.DEFAULT_MAX_BODY_BYTES


def _strict(payload_text):
    try:
        return strict_json.loads(payload_text)
    except strict_json.JsonRefused as exc:
        raise body_templates.BodyTemplateError(f"The payload is not valid JSON: {exc}") from None


def request_body(payload_text, body_template):
    """The bytes to send: the custom body rendered from the payload, or the payload itself.

    Raises body_templates.BodyTemplateError when the template does not give a JSON object
    or the payload is not strict JSON (a row stored before payloads were built strictly),
    and its subclass BodyTooLarge when the body would exceed WEBHOOK_MAX_BODY_BYTES (the
    rendering stops as soon as it is sure to, so memory stays bounded).
    """
    limit = max_body_bytes()
    if body_template:
        return body_templates.render(body_template, _strict(payload_text), max_bytes=limit)
    if "NaN" in payload_text or "Infinity" in payload_text:
        _strict(payload_text)  # only then can the text hold what JSON has no place for
    body = payload_text.encode("utf-8")
    if len(body) > limit:
        raise body_templates.BodyTooLarge(
            f"The payload is {len(body)} bytes, more than the WEBHOOK_MAX_BODY_BYTES limit "
            f"of {limit} bytes")
    return body
