"""Custom body templates: a JSON object with {{placeholders}}, rendered per delivery."""
import json
import re
from datetime import datetime

from .. import catalog
from . import strict_json

PREFIX = "Custom body is not valid JSON: "
MAX_TEMPLATE_LENGTH = 16 * 1024
# WEBHOOK_MAX_BODY_BYTES unless the app says otherwise.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
PLACEHOLDERS = ("payload", "time", "timestamp", "event_type", "event_id", "data.…")
SAMPLE_EVENT_ID = "00000000-0000-4000-8000-000000000000"
SAMPLE_TIMESTAMP = "2025-01-15T14:30:00.000Z"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}")

PRESETS = {
    "slack": (
        '{\n  "text": "Hookline: {{event_type}} ({{data.project.name}}) at {{timestamp}}",\n'
        '  "blocks": [\n    {\n      "type": "section",\n'
        '      "text": {"type": "mrkdwn", "text": "*{{event_type}}*\\n'
        'Project: {{data.project.name}}\\nEvent: `{{event_id}}`"}\n    }\n  ]\n}'
    ),
    "teams": (
        '{\n  "@type": "MessageCard",\n  "@context": "https://schema.org/extensions",\n'
        '  "summary": "Hookline: {{event_type}}",\n  "themeColor": "0076D7",\n'
        '  "title": "{{event_type}}",\n'
        '  "text": "Project {{data.project.name}}, event {{event_id}} at {{timestamp}}"\n}'
    ),
    "pagerduty": (
        '{\n  "routing_key": "YOUR_PAGERDUTY_ROUTING_KEY",\n  "event_action": "trigger",\n'
        '  "dedup_key": "{{event_id}}",\n  "payload": {\n'
        '    "summary": "Hookline: {{event_type}} {{data.project.name}}",\n'
        '    "source": "hookline",\n    "severity": "info",\n'
        '    "timestamp": "{{timestamp}}",\n    "custom_details": {{payload}}\n  }\n}'
    ),
    "splunk": (
        '{\n  "time": {{time}},\n  "source": "hookline",\n'
        '  "sourcetype": "_json",\n  "event": {{payload}}\n}'
    ),
}


class BodyTemplateError(ValueError):
    """A template that does not render to a JSON object; the message says what and where."""


class BodyTooLarge(BodyTemplateError):
    """The body to send would be larger than WEBHOOK_MAX_BODY_BYTES."""


def _too_large(max_bytes):
    return BodyTooLarge(f"Custom body is larger than the WEBHOOK_MAX_BODY_BYTES limit of "
                        f"{max_bytes} bytes")


def _dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _unix_seconds(timestamp):
    try:
        return int(datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return int(datetime.now().timestamp())


def _value(name, payload):
    if name == "payload":
        return payload
    if name == "time":
        return _unix_seconds(payload.get("timestamp"))
    if name in ("timestamp", "event_type", "event_id"):
        return payload.get(name)
    if name == "data" or name.startswith("data."):
        value = payload.get("data")
        for key in name.split(".")[1:]:
            value = value.get(key) if isinstance(value, dict) else None
        return value
    raise KeyError(name)


def _where(template, position):
    line = template.count("\n", 0, position) + 1
    column = position - (template.rfind("\n", 0, position) + 1) + 1
    return f"line {line} column {column}"


def _piece(name, payload, in_string):
    """The text a placeholder inserts, and its size in UTF-8 bytes."""
    value = _value(name, payload)
    if in_string:
        text = value if isinstance(value, str) else ("" if value is None else _dumps(value))
        piece = _dumps(text)[1:-1]
    else:
        piece = _dumps(value)
    return piece, len(piece.encode("utf-8", "surrogatepass"))


def _substitute(template, payload, max_bytes):
    """Replace placeholders; returns (text, [(output offset, template offset, literal?)]).

    Inserted values survive the final re-encoding byte for byte, so once they alone pass
    max_bytes the body is sure to be too large: BodyTooLarge then, before more is built.
    """
    out, spans, in_string, escaped, i, size = [], [], False, False, 0, 0
    pieces, inserted = {}, 0
    while i < len(template):
        match = _PLACEHOLDER.match(template, i) if template.startswith("{{", i) else None
        if match:
            key = (match.group(1), in_string)
            if key not in pieces:
                try:
                    pieces[key] = _piece(match.group(1), payload, in_string)
                except KeyError:
                    raise BodyTemplateError(
                        f"{PREFIX}unknown placeholder {{{{{match.group(1)}}}}} at "
                        f"{_where(template, i)}"
                    ) from None
            piece, piece_bytes = pieces[key]
            inserted += piece_bytes
            if inserted > max_bytes:
                raise _too_large(max_bytes)
            spans.append((size, i, False))
            out.append(piece)
            size += len(piece)
            i = match.end()
            continue
        char = template[i]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        spans.append((size, i, True))
        out.append(char)
        size += 1
        i += 1
    spans.append((size, len(template), True))
    return "".join(out), spans


def _template_position(spans, position):
    previous = spans[0] if spans else (0, 0, True)
    for span in spans:
        if span[0] > position:
            break
        previous = span
    out_start, template_start, literal = previous
    return template_start + (position - out_start if literal else 0)


def render(template: str, payload: dict, max_bytes=DEFAULT_MAX_BODY_BYTES) -> bytes:
    """Render a template for one payload to compact UTF-8 JSON of an object.

    Inside a JSON string a placeholder inserts its value as escaped text; elsewhere it
    inserts a JSON value. Raises BodyTemplateError("Custom body is not valid JSON: …"),
    also for NaN, Infinity, numbers too large for a double and lone surrogates, and
    BodyTooLarge when the body would pass max_bytes (checked while rendering, so an
    amplifying template stops early instead of building a huge text).
    """
    if len(template) > MAX_TEMPLATE_LENGTH:
        raise BodyTemplateError(f"{PREFIX}the template is longer than {MAX_TEMPLATE_LENGTH} "
                                "characters")
    text, spans = _substitute(template, payload, max_bytes)
    try:
        result = strict_json.loads(text)
    except strict_json.JsonRefused as exc:
        raise BodyTemplateError(f"{PREFIX}{exc}") from None
    except json.JSONDecodeError as exc:
        where = _where(template, _template_position(spans, exc.pos))
        raise BodyTemplateError(f"{PREFIX}{exc.msg} at {where}") from None
    except RecursionError:
        raise BodyTemplateError(f"{PREFIX}the template is nested too deeply") from None
    except ValueError as exc:
        raise BodyTemplateError(f"{PREFIX}{exc}") from None
    if not isinstance(result, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(result), "a number")
        raise BodyTemplateError(f"{PREFIX}the result must be a JSON object, not {kind}")
    body = strict_json.dumps(result).encode("utf-8")
    if len(body) > max_bytes:
        raise _too_large(max_bytes)
    return body


def sample_payload(event_type, org_id="comp-uuid-1234"):
    """The default payload of the catalog sample of one event type."""
    return {
        "event_id": SAMPLE_EVENT_ID,
        "event_type": event_type,
        "timestamp": SAMPLE_TIMESTAMP,
        "data": catalog.sample_data(event_type, org_id),
    }


def check_against_samples(template, event_types, max_bytes=DEFAULT_MAX_BODY_BYTES):
    """Render the template for the sample of every type; the error names the type at fault."""
    for event_type in event_types:
        try:
            render(template, sample_payload(event_type), max_bytes)
        except BodyTemplateError as exc:
            raise BodyTemplateError(f"{exc} (for the {event_type} sample)") from None


def data_fields(template):
    """The data.… placeholders of a template, in order, each once."""
    return list(dict.fromkeys(
        match.group(1) for match in _PLACEHOLDER.finditer(template or "")
        if match.group(1).startswith("data.")
    ))


def missing_fields(template, event_types):
    """{placeholder: [event types whose sample lacks it]} for the data fields the template
    reads: they render as null (or empty text) for those events."""
    gaps = {}
    for name in data_fields(template):
        for event_type in event_types:
            if _value(name, sample_payload(event_type)) is None:
                gaps.setdefault("{{" + name + "}}", []).append(event_type)
    return gaps


def preview(template, event_types, org_id):
    """What each subscribed event type's sample sends: [(type, JSON text or None, error or
    None, [placeholders its sample lacks])]. A blank template previews the default payload."""
    results = []
    for event_type in event_types:
        if catalog.get(event_type) is None:
            continue
        payload = sample_payload(event_type, org_id)
        if not (template or "").strip():
            results.append((event_type, json.dumps(payload, indent=2, ensure_ascii=False),
                            None, []))
            continue
        try:
            rendered = json.dumps(json.loads(render(template, payload)), indent=2,
                                  ensure_ascii=False)
        except BodyTemplateError as exc:
            results.append((event_type, None, str(exc), []))
            continue
        missing = [field for field, types in missing_fields(template, [event_type]).items()
                   if types]
        results.append((event_type, rendered, None, missing))
    return results
