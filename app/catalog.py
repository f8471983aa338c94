"""The event catalog: every event type Hookline emits, with a description and a sample."""
from dataclasses import dataclass, field

ISSUE_STATUSES = (
    "open",
    "fixed",
    "false_positive",
    "accepted_risk",
    "in_progress",
    "wont_fix",
)


@dataclass(frozen=True)
class EventType:
    type: str
    area: str
    description: str
    sample: dict = field(default_factory=dict)


_PROJECT = {"id": "proj-uuid-9012", "name": "Production API"}

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
    ),
    EventType(
        "user.login_failed",
        "Users",
        "A login attempt failed (wrong password for a known user).",
        {"username": "jane.doe", "user_agent": "Mozilla/5.0", "path": "/login/"},
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
