"""Demo data for `flask demo` and `make run`: an organization, users, a token, projects,
and three paused endpoints."""
from .extensions import db
from .services import accounts, body_templates, endpoints, events, tokens

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_ADMIN_PASSWORD = "hookline-demo"
DEMO_PROJECTS = (
    ("proj-uuid-9012", "Production API"),
    ("proj-web-frontend", "Web Frontend"),
    ("proj-infra", "Infrastructure"),
)
# Created paused, so a demo never sends anything anywhere.
DEMO_ENDPOINTS = (
    {
        "name": "Slack #appsec",
        "description": "Scan results and status changes for the security channel",
        "url": "https://hooks.slack.com/services/T000/B000/XXXX",
        "type": "slack",
        "events": ["scan.completed", "scan.failed", "issue.status_changed"],
        "statuses": ["fixed", "accepted_risk"],
        "bodyTemplate": body_templates.PRESETS["slack"],
    },
    {
        "name": "PagerDuty on-call",
        "description": "Pages the on-call engineer when a scan fails",
        "url": "https://events.pagerduty.com/v2/enqueue",
        "type": "pagerduty",
        "events": ["scan.failed"],
        "projects": ["proj-uuid-9012"],
        "bodyTemplate": body_templates.PRESETS["pagerduty"],
        "retryPolicy": "quick",
    },
    {
        "name": "Jira ticket creator",
        "description": "Jira Automation incoming webhook",
        "url": "https://automation.atlassian.com/pro/hooks/0000000000000000",
        "type": "jira",
        "events": ["issue.assigned", "assignment.created"],
        "headers": [{"name": "X-Automation-Webhook-Token", "value": "demo-token-not-real"}],
    },
)


def load_demo():
    """Create the demo organization and return its logins and API token."""
    existing = accounts.find_user(DEMO_ADMIN_EMAIL)
    if existing is not None:
        org_id = existing.org_id
    else:
        org = accounts.create_organization("Demo Security Org")
        org_id = org.id
        admin = accounts.create_user(org_id, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, "admin",
                                     "Ada Admin")
        accounts.create_user(org_id, "integrations@example.com", DEMO_ADMIN_PASSWORD,
                             "integrations", "Ian Integrations")
        accounts.create_user(org_id, "viewer@example.com", DEMO_ADMIN_PASSWORD, "viewer",
                             "Vera Viewer")
        for external_id, name in DEMO_PROJECTS:
            events.register_project(org_id, {"id": external_id, "name": name})
        db.session.commit()
        for fields in DEMO_ENDPOINTS:
            try:
                endpoints.create_endpoint(org_id, admin, {**fields, "isActive": False})
            except endpoints.EndpointInvalid:
                # A resolver that maps these hosts to a blocked address: skip that sample.
                db.session.rollback()
    _token, plaintext = tokens.create_token(org_id, "Demo token")
    return {
        "org_id": org_id,
        "email": DEMO_ADMIN_EMAIL,
        "viewer_email": "viewer@example.com",
        "password": DEMO_ADMIN_PASSWORD,
        "token": plaintext,
    }
