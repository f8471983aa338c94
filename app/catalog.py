"""The event catalog: every event type Hookline emits, with a description, a sample and the
JSON Schema of its data."""
from dataclasses import dataclass, field

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

ISSUE_STATUSES = (
    "open",
    "fixed",
    "false_positive",
    "accepted_risk",
    "in_progress",
    "wont_fix",
)


_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
               (list, "array"), (dict, "object"))


def _value_schema(value, required):
    """The schema of one sample value: its JSON type; objects and arrays described inside.

    Optional values may also be null (the platform has nothing to say there).
    """
    kind = next(name for python, name in _JSON_TYPES if isinstance(value, python))
    schema = {"type": kind if required else [kind, "null"]}
    if kind == "object":
        schema.update(_object_schema(value, ("id",) if "id" in value else ()))
    elif kind == "array" and value:
        schema["items"] = _value_schema(value[0], required=True)
    return schema


def _object_schema(sample, required):
    """Properties typed as the sample shows them, `required` ones present and not null,
    anything else allowed."""
    return {
        "properties": {
            key: _value_schema(value, key in required) for key, value in sample.items()
        },
        "required": list(required),
        "additionalProperties": True,
    }


def data_schema(event_type, sample, required):
    """The JSON Schema (draft 2020-12) of an event type's `data`, derived from its sample.

    Nested objects that carry an `id` (project, assignee…) require it.
    """
    missing = [key for key in required if key not in sample]
    if missing:
        raise ValueError(f"{event_type}: required fields {missing} are not in the sample")
    properties = {"company": {"type": "string",
                              "description": "Your organization id, set by Hookline"}}
    body = _object_schema(sample, required)
    return {
        "$schema": SCHEMA_DIALECT,
        "title": f"{event_type} data",
        "type": "object",
        **body,
        "properties": {**properties, **body["properties"]},
    }


@dataclass(frozen=True)
class EventType:
    type: str
    area: str
    description: str
    sample: dict = field(default_factory=dict)
    # The identifying fields: an event without them is refused.
    required: tuple = ()
    # Emitted by Hookline about itself; the platform cannot send these.
    internal: bool = False
    schema: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "schema", data_schema(self.type, self.sample, self.required))


_PROJECT = {"id": "proj-uuid-9012", "name": "Production API"}
_WEBHOOK = {
    "id": "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
    "name": "Jira ticket creator",
    "url": "https://automation.example.com",
}

CATALOG = (
    EventType(
        "issue.status_changed",
        "Issues",
        "An issue's status was updated (e.g. open → fixed).",
        {
            "issue_id": "issue-uuid-5678",
            "classification": "SQL Injection",
            "urgency": "HI",
            "status": "fixed",
            "previous_status": "open",
            "file_path": "src/controllers/user.py",
            "line_num": 45,
            "project": _PROJECT,
            "scan_id": "scan-uuid-3456",
            "url": "https://app.example.com/issue/issue-uuid-5678/",
        },
        required=("issue_id", "status"),
    ),
    EventType(
        "issue.assigned",
        "Issues",
        "An issue was assigned to a team member.",
        {
            "issue_id": "issue-uuid-5678",
            "classification": "Cross-Site Scripting (XSS)",
            "urgency": "ME",
            "status": "open",
            "assigned_to": {
                "id": "user-uuid-1111",
                "email": "jane.doe@company.com",
                "name": "Jane Doe",
            },
            "previously_assigned_to": {
                "id": "user-uuid-2222",
                "email": "john.smith@company.com",
                "name": "John Smith",
            },
            "project": _PROJECT,
            "url": "https://app.example.com/issue/issue-uuid-5678/",
        },
        required=("issue_id", "assigned_to"),
    ),
    EventType(
        "scan.started",
        "Scans",
        "A security scan began.",
        {
            "scan_id": "scan-uuid-7890",
            "run_id": "run-12345",
            "project": _PROJECT,
            "branch": "main",
            "engine": "blast",
            "scan_type": "full",
            "created_at": "2025-01-15T15:40:00.000Z",
        },
        required=("scan_id",),
    ),
    EventType(
        "scan.completed",
        "Scans",
        "A security scan finished successfully.",
        {
            "scan_id": "scan-uuid-7890",
            "run_id": "run-12345",
            "project": _PROJECT,
            "branch": "main",
            "engine": "blast",
            "scan_type": "full",
            "issues_found": 8,
            "processed_at": "2025-01-15T15:45:00.000Z",
            "created_at": "2025-01-15T15:40:00.000Z",
        },
        required=("scan_id",),
    ),
    EventType(
        "scan.failed",
        "Scans",
        "A security scan stopped with an error.",
        {
            "scan_id": "scan-uuid-7890",
            "run_id": "run-12345",
            "project": _PROJECT,
            "branch": "main",
            "engine": "blast",
            "scan_type": "full",
            "error": "Repository checkout failed: authentication required",
            "created_at": "2025-01-15T15:40:00.000Z",
            "failed_at": "2025-01-15T15:41:12.000Z",
        },
        required=("scan_id",),
    ),
    EventType(
        "assignment.created",
        "Assignments",
        "A remediation assignment was created for a person or team.",
        {
            "assignment_id": "asg-uuid-3141",
            "title": "Fix SQL Injection in user controller",
            "issue_ids": ["issue-uuid-5678"],
            "assignee": {"id": "user-uuid-1111", "email": "jane.doe@company.com"},
            "due_date": "2025-02-01",
            "project": _PROJECT,
            "created_by": {"id": "user-uuid-2222", "email": "john.smith@company.com"},
        },
        required=("assignment_id",),
    ),
    EventType(
        "assignment.completed",
        "Assignments",
        "Every issue of a remediation assignment was resolved.",
        {
            "assignment_id": "asg-uuid-3141",
            "title": "Fix SQL Injection in user controller",
            "issue_ids": ["issue-uuid-5678"],
            "assignee": {"id": "user-uuid-1111", "email": "jane.doe@company.com"},
            "project": _PROJECT,
            "completed_at": "2025-01-30T09:12:00.000Z",
        },
        required=("assignment_id",),
    ),
    EventType(
        "sarif.ingested",
        "SARIF",
        "A SARIF report was uploaded and its results imported.",
        {
            "ingestion_id": "sarif-uuid-2718",
            "tool": "semgrep",
            "tool_version": "1.97.0",
            "results": 42,
            "new_issues": 5,
            "project": _PROJECT,
            "branch": "main",
            "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8",
        },
        required=("ingestion_id",),
    ),
    EventType(
        "certificate.issued",
        "Certificates",
        "A security attestation certificate was issued for a project.",
        {
            "certificate_id": "cert-uuid-1618",
            "standard": "OWASP ASVS L2",
            "project": _PROJECT,
            "issued_at": "2025-01-31T12:00:00.000Z",
            "expires_at": "2026-01-31T12:00:00.000Z",
            "download_url": "https://app.example.com/certificates/cert-uuid-1618.pdf",
        },
        required=("certificate_id",),
    ),
    EventType(
        "user.login",
        "Users",
        "A user logged in.",
        {
            "user_id": 123,
            "username": "jane.doe",
            "email": "jane.doe@company.com",
            "first_name": "Jane",
            "last_name": "Doe",
            "user_agent": "Mozilla/5.0",
            "path": "/login/",
        },
        required=("user_id", "username"),
    ),
    EventType(
        "user.login_failed",
        "Users",
        "A login attempt failed (wrong password for a known user).",
        {"username": "jane.doe", "user_agent": "Mozilla/5.0", "path": "/login/"},
        required=("username",),
    ),
    EventType(
        "webhook.disabled",
        "Webhooks",
        "Hookline disabled an endpoint: a delivery failed every attempt, or the receiver "
        "answered 410 Gone.",
        {
            "webhook": _WEBHOOK,
            "reason": "Disabled automatically: a delivery failed all 5 attempts",
            "disabled_at": "2025-01-15T16:20:00.000Z",
            "last_error": "HTTP 503",
        },
        required=("webhook", "reason", "disabled_at"),
        internal=True,
    ),
    EventType(
        "webhook.paused",
        "Webhooks",
        "Hookline paused a quick-policy endpoint after too many consecutive failed attempts.",
        {
            "webhook": _WEBHOOK,
            "reason": "Paused automatically after 10 consecutive failed attempts",
            "paused_at": "2025-01-15T16:20:00.000Z",
            "last_error": "Connection refused",
        },
        required=("webhook", "reason", "paused_at"),
        internal=True,
    ),
)

EVENT_TYPES = {event.type: event for event in CATALOG}


def get(event_type):
    """The catalog entry for a type, or None."""
    return EVENT_TYPES.get(event_type)


def by_area():
    """[(area, [EventType, ...]), ...] in catalog order, for grouped checkboxes."""
    areas = {}
    for event in CATALOG:
        areas.setdefault(event.area, []).append(event)
    return list(areas.items())


def sample_data(event_type, org_id="comp-uuid-1234"):
    """The sample `data` of a type, with the organization as `company` first."""
    return {"company": org_id, **EVENT_TYPES[event_type].sample}
