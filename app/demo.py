"""Demo data for `flask demo` and `make run`: an organization, users, a token, projects,
endpoints and a week of generated delivery history.

With a demo receiver URL (development: Hookline's own /demo-receiver/…) the endpoints are
live and deliver new events to it; without one they point at example services and are
paused, so a demo never sends anything anywhere.
"""
from datetime import timedelta

from .demo_history import Behaviour, generate
from .extensions import db
from .models import utcnow
from .services import accounts, body_templates, endpoints, events, tokens

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_ADMIN_PASSWORD = "hookline-demo"
DEMO_PROJECTS = (
    ("proj-uuid-9012", "Production API"),
    ("proj-web-frontend", "Web Frontend"),
    ("proj-infra", "Infrastructure"),
)
# (fields, the path under the demo receiver, the example URL without one, how it behaved)
DEMO_ENDPOINTS = (
    (
        {
            "name": "Slack #appsec",
            "description": "Scan results and status changes for the security channel",
            "type": "slack",
            "events": ["scan.completed", "scan.failed", "issue.status_changed"],
            "statuses": ["fixed", "accepted_risk"],
            "bodyTemplate": body_templates.PRESETS["slack"],
        },
        "slack", "https://hooks.slack.com/services/T000/B000/XXXX",
        Behaviour(fail_rate=0.03, failures=("http500",), latency_ms=140),
    ),
    (
        {
            "name": "PagerDuty on-call",
            "description": "Pages the on-call engineer when a scan fails",
            "type": "pagerduty",
            "events": ["scan.failed", "scan.completed"],
            "projects": ["proj-uuid-9012"],
            "bodyTemplate": body_templates.PRESETS["pagerduty"],
            "retryPolicy": "quick",
        },
        "pagerduty", "https://events.pagerduty.com/v2/enqueue",
        Behaviour(fail_rate=0.18, failures=("timeout", "http503", "refused"), latency_ms=320),
    ),
    (
        {
            "name": "Jira ticket creator",
            "description": "Jira Automation incoming webhook",
            "type": "jira",
            "events": ["issue.assigned", "assignment.created", "issue.status_changed"],
            "headers": [{"name": "X-Automation-Webhook-Token", "value": "demo-token-not-real"}],
        },
        "jira", "https://automation.atlassian.com/pro/hooks/0000000000000000",
        Behaviour(fail_rate=0.07, failures=("http401", "http500"), latency_ms=420),
    ),
    (
        {
            "name": "Splunk HEC",
            "description": "Every event into the security data lake",
            "type": "splunk",
            "events": ["scan.started", "scan.completed", "scan.failed", "sarif.ingested",
                       "user.login", "user.login_failed"],
            "bodyTemplate": body_templates.PRESETS["splunk"],
        },
        "splunk", "https://splunk.example.com:8088/services/collector/event",
        Behaviour(fail_rate=0.02, failures=("http503",), latency_ms=70),
    ),
    (
        {
            "name": "Compliance archive",
            "description": "Paused while the archive moves to new storage",
            "type": "other",
            "events": ["assignment.completed", "certificate.issued", "issue.status_changed"],
        },
        "archive", "https://archive.example.com/hookline",
        Behaviour(fail_rate=0.05, failures=("http500",), latency_ms=210,
                  paused_for=timedelta(hours=30)),
    ),
)


def demo_receiver_url(port):
    """Where Hookline serves its own demo receiver when `make run` runs it on `port`."""
    return f"http://127.0.0.1:{port}/demo-receiver"


def _users(org_id):
    admin = accounts.create_user(org_id, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, "admin",
                                 "Ada Admin")
    accounts.create_user(org_id, "integrations@example.com", DEMO_ADMIN_PASSWORD,
                         "integrations", "Ian Integrations")
    accounts.create_user(org_id, "viewer@example.com", DEMO_ADMIN_PASSWORD, "viewer",
                         "Vera Viewer")
    return admin


def _endpoints(org_id, admin, receiver_url):
    """Create the demo endpoints; returns [(endpoint, Behaviour)]."""
    made = []
    for fields, path, example_url, behaviour in DEMO_ENDPOINTS:
        live = receiver_url is not None
        url = f"{receiver_url}/{path}" if live else example_url
        try:
            endpoint, _secret = endpoints.create_endpoint(
                org_id, admin, {**fields, "url": url, "isActive": live})
        except endpoints.EndpointInvalid:
            # A resolver that maps an example host to a blocked address: skip that sample.
            db.session.rollback()
            continue
        made.append((endpoint, behaviour))
    return made


def load_demo(receiver_url=None, now=None):
    """Create the demo organization (once) and return its logins and a new API token.

    `receiver_url`: the demo receiver the endpoints deliver to (None: paused examples).
    """
    existing = accounts.find_user(DEMO_ADMIN_EMAIL)
    if existing is not None:
        org_id = existing.org_id
    else:
        now = now or utcnow()
        org = accounts.create_organization("Demo Security Org")
        org_id = org.id
        admin = _users(org_id)
        for external_id, name in DEMO_PROJECTS:
            events.register_project(org_id, {"id": external_id, "name": name})
        db.session.commit()
        made = _endpoints(org_id, admin, receiver_url)
        for endpoint, behaviour in made:
            if behaviour.paused_for and endpoint.is_active:
                endpoints.update_endpoint(org_id, admin, endpoint, {"isActive": False})
        generate(org_id, made, DEMO_PROJECTS, now)
    _token, plaintext = tokens.create_token(org_id, "Demo token")
    return {
        "org_id": org_id,
        "email": DEMO_ADMIN_EMAIL,
        "viewer_email": "viewer@example.com",
        "password": DEMO_ADMIN_PASSWORD,
        "token": plaintext,
    }
