"""What the API → Webhooks docs page shows, built from the catalog, settings and snippets."""
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .. import catalog
from . import body_templates, payload_filters, payloads

SNIPPET_DIR = Path(__file__).resolve().parent.parent / "static" / "snippets"
DEFAULT_PREFIX = "X-Hookline"
SAMPLE_TIME = datetime(2025, 1, 15, 14, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Snippet:
    id: str
    language: str
    filename: str
    run: str


SNIPPETS = (
    Snippet("python", "Python", "verify.py", "Python 3.9+, standard library only"),
    Snippet("node", "Node.js", "verify.js", "Node.js 16+, no dependencies"),
    Snippet("go", "Go", "verify.go", "Go 1.19+, standard library only"),
)

# A Flask receiver that processes each event once; the docs page shows it, a test runs it.
IDEMPOTENCY_SNIPPET = "idempotency.py"

BODY_EXAMPLES = (
    ("slack", "Slack incoming webhook", "Slack needs a text field; blocks are optional."),
    ("teams", "Microsoft Teams incoming webhook", "A MessageCard with a title and text."),
    ("pagerduty", "PagerDuty Events API v2",
     "Put your integration's routing key in routing_key; the event id deduplicates."),
)


def snippet_source(filename, header_prefix=DEFAULT_PREFIX):
    """The text of a verification snippet, naming the headers with the configured prefix."""
    text = (SNIPPET_DIR / filename).read_text(encoding="utf-8")
    return text.replace(DEFAULT_PREFIX, header_prefix)


def snippets(header_prefix=DEFAULT_PREFIX):
    """[(Snippet, source)] for every language, as the page shows them."""
    return [(item, snippet_source(item.filename, header_prefix)) for item in SNIPPETS]


def sample_payload(event_type, org_id):
    """The default payload a receiver gets for the catalog sample of one event type."""
    text = payloads.default_payload(
        body_templates.SAMPLE_EVENT_ID, event_type, SAMPLE_TIME,
        catalog.sample_data(event_type, org_id),
    )
    return json.loads(text)


def pretty_json(value):
    """JSON as a reader wants it on the page: indented, with non-ASCII text as is."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def event_samples(org_id):
    """[(EventType, default payload as indented JSON)] for every catalog type."""
    return [(event, pretty_json(sample_payload(event.type, org_id))) for event in catalog.CATALOG]


def event_schemas():
    """{event type: its data schema as indented JSON}, to show beside each sample."""
    return {event.type: pretty_json(event.schema) for event in catalog.CATALOG}


FILTER_EXAMPLES = (
    ("Only urgent issues", "issue.status_changed",
     [{"path": "data.urgency", "op": "in", "value": ["HI", "CR"]}]),
    ("Scans that found something, on main", "scan.completed",
     [{"path": "data.issues_found", "op": "gt", "value": 0},
      {"path": "data.branch", "op": "eq", "value": "main"}]),
    ("SQL injection, but not once it is fixed", "issue.status_changed",
     [{"path": "data.classification", "op": "contains", "value": "SQL"},
      {"path": "data.status", "op": "ne", "value": "fixed"}]),
    ("Assignments with a due date", "assignment.created",
     [{"path": "data.due_date", "op": "exists", "value": True}]),
)


def filter_examples(org_id):
    """[(title, event type, filter as indented JSON, whether that type's sample passes, the
    first condition that fails or None)], computed, so the page says what Hookline does."""
    examples = []
    for title, event_type, conditions in FILTER_EXAMPLES:
        failing = payload_filters.first_failing(
            conditions, body_templates.sample_payload(event_type, org_id))
        examples.append((title, event_type, pretty_json(conditions), failing is None,
                         None if failing is None else payload_filters.describe(
                             conditions[failing])))
    return examples


def body_examples(org_id):
    """[(type, title, note, template, rendered JSON text)] for the preset custom bodies."""
    sample = sample_payload("scan.completed", org_id)
    return [
        (kind, title, note, body_templates.PRESETS[kind],
         pretty_json(json.loads(body_templates.render(body_templates.PRESETS[kind], sample))))
        for kind, title, note in BODY_EXAMPLES
    ]


def human_duration(seconds):
    """60 -> '1 min', 7200 -> '2 h', 90 -> '90 s': the largest unit that divides evenly."""
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def retry_policies(config):
    """Both retry policies as the settings define them, with their auto-disable rule."""
    standard = config["WEBHOOK_RETRY_DELAYS_STANDARD"]
    quick = config["WEBHOOK_RETRY_DELAYS_QUICK"]
    pause_after = config["WEBHOOK_QUICK_PAUSE_AFTER"]
    return [
        {
            "name": "standard",
            "attempts": len(standard) + 1,
            "delays": [human_duration(d) for d in standard],
            "rule": (
                f"When a delivery fails its last attempt (attempt {len(standard) + 1}) it "
                "becomes exhausted and the endpoint is disabled: nothing more is sent to it "
                "until someone switches it back on."
            ),
        },
        {
            "name": "quick",
            "attempts": len(quick) + 1,
            "delays": [human_duration(d) for d in quick],
            "rule": (
                f"A delivery that fails its last attempt (attempt {len(quick) + 1}) becomes "
                f"exhausted. After {pause_after} consecutive failed attempts (across "
                "deliveries) the endpoint is paused; new events are still recorded and held "
                "until it is switched back on."
            ),
        },
    ]


def delivery_headers(config):
    """[(header, value, meaning)] of every delivery, with the configured prefix and agent."""
    prefix = config["WEBHOOK_HEADER_PREFIX"]
    return [
        ("Content-Type", "application/json", "The body is UTF-8 JSON."),
        ("User-Agent", config["WEBHOOK_USER_AGENT"], "Identifies the sender."),
        (f"{prefix}-Event", "scan.completed", "The event type."),
        (f"{prefix}-Delivery", "<delivery uuid>",
         "The same for every attempt of one delivery: use it to spot retries."),
        (f"{prefix}-Timestamp", "<unix seconds>", "When this attempt was sent."),
        (f"{prefix}-Signature", "<hex HMAC-SHA256>",
         "HMAC-SHA256 of the exact body bytes keyed by the secret string (UTF-8), as hex."),
        (f"{prefix}-Signature-Previous", "<hex HMAC-SHA256>",
         "Only while a rotated secret is in its grace period: the same, keyed by the "
         "previous secret."),
        ("webhook-id", "<event uuid>",
         "Standard Webhooks: the event id; the same across retries, so dedupe on it."),
        ("webhook-timestamp", "<unix seconds>",
         "Standard Webhooks: signed, so a receiver can refuse old (replayed) deliveries."),
        ("webhook-signature", "v1,<base64>",
         "Standard Webhooks: HMAC-SHA256 of \"{id}.{timestamp}.{body}\" keyed by the "
         "base64-decoded part of the secret after whsec_; two space-separated values "
         "while a rotated secret is still in its grace period."),
    ]
