"""Tenant scoping by construction: for_org / get_in_org never reach another organization."""
from app.extensions import db
from app.models import ApiToken, Project
from app.services import events, tokens
from tests import factories


def test_get_in_org_never_returns_another_tenants_row(app):
    acme, other = factories.make_org("Acme"), factories.make_org("Other")
    theirs, _ = factories.make_token(other, "theirs")
    mine, _ = factories.make_token(acme, "mine")
    assert ApiToken.get_in_org(acme.id, mine.id).name == "mine"
    assert ApiToken.get_in_org(acme.id, theirs.id) is None
    assert [t.name for t in tokens.list_tokens(acme.id)] == ["mine"]


def test_projects_registered_per_organization(app):
    acme, other = factories.make_org("Acme"), factories.make_org("Other")
    events.ingest(acme.id, "scan.completed", {"project": {"id": "p1", "name": "API"}})
    events.ingest(acme.id, "scan.started", {"project": {"id": "p1", "name": "API"}})
    events.ingest(other.id, "scan.started", {"project": "p2"})
    assert [(p.external_id, p.name) for p in events.list_projects(acme.id)] == [("p1", "API")]
    assert [p.external_id for p in events.list_projects(other.id)] == ["p2"]
    assert db.session.query(Project).count() == 2


def test_event_company_is_always_the_organization(app):
    acme = factories.make_org("Acme")
    event = events.ingest(acme.id, "scan.completed", {"company": "someone-else", "x": 1}).event
    assert event.data["company"] == acme.id
