"""Demo data for `flask demo` and `make run`: an organization, users, a token, projects."""
from .extensions import db
from .services import accounts, events, tokens

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_ADMIN_PASSWORD = "hookline-demo"
DEMO_PROJECTS = (
    ("proj-uuid-9012", "Production API"),
    ("proj-web-frontend", "Web Frontend"),
    ("proj-infra", "Infrastructure"),
)


def load_demo():
    """Create the demo organization and return its logins and API token."""
    existing = accounts.find_user(DEMO_ADMIN_EMAIL)
    if existing is not None:
        org_id = existing.org_id
    else:
        org = accounts.create_organization("Demo Security Org")
        org_id = org.id
        accounts.create_user(org_id, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, "admin", "Ada Admin")
        accounts.create_user(org_id, "integrations@example.com", DEMO_ADMIN_PASSWORD,
                             "integrations", "Ian Integrations")
        accounts.create_user(org_id, "viewer@example.com", DEMO_ADMIN_PASSWORD, "viewer",
                             "Vera Viewer")
        for external_id, name in DEMO_PROJECTS:
            events.register_project(org_id, {"id": external_id, "name": name})
        db.session.commit()
    _token, plaintext = tokens.create_token(org_id, "Demo token")
    return {
        "org_id": org_id,
        "email": DEMO_ADMIN_EMAIL,
        "viewer_email": "viewer@example.com",
        "password": DEMO_ADMIN_PASSWORD,
        "token": plaintext,
    }
