"""Event ingest: validate an event, store it, register its project."""
from sqlalchemy import select

from .. import catalog
from ..extensions import db
from ..models import Event, Project


class EventError(ValueError):
    """An event was refused; `field` names the part of the request at fault."""

    def __init__(self, message, field="eventType"):
        super().__init__(message)
        self.field = field


def validate(event_type, data):
    """Raise EventError unless the type is in the catalog and data is a JSON object."""
    if not isinstance(event_type, str) or catalog.get(event_type) is None:
        raise EventError(f"Unknown event type: {event_type!r}", "eventType")
    if not isinstance(data, dict):
        raise EventError("data must be a JSON object", "data")


def register_project(org_id, project):
    """Record data.project ({"id", "name"} or a plain id) in the organization's projects."""
    if isinstance(project, dict):
        external_id, name = project.get("id"), project.get("name")
    else:
        external_id, name = project, None
    if not isinstance(external_id, str | int) or isinstance(external_id, bool):
        return None
    external_id = str(external_id)[:200]
    if not external_id:
        return None
    existing = db.session.execute(
        Project.for_org(org_id).where(Project.external_id == external_id)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    found = Project(org_id=org_id, external_id=external_id, name=str(name or external_id)[:200])
    db.session.add(found)
    return found


def list_projects(org_id):
    """The organization's known projects, by name."""
    return db.session.execute(Project.for_org(org_id).order_by(Project.name)).scalars().all()


def store_event(org_id, event_type, data):
    """Validate and add the event row (not committed); returns the Event."""
    validate(event_type, data)
    data = {"company": org_id, **{k: v for k, v in data.items() if k != "company"}}
    event = Event(org_id=org_id, type=event_type, data=data)
    db.session.add(event)
    if "project" in data:
        register_project(org_id, data["project"])
    return event


def emit(org_id, event_type, data):
    """Ingest one event for an organization; returns the stored Event."""
    event = store_event(org_id, event_type, data)
    db.session.commit()
    return event


def login_data(user, user_agent, path, succeeded):
    """The `data` of user.login / user.login_failed, shaped like the catalog samples."""
    if not succeeded:
        return {"username": user.email.split("@")[0], "user_agent": user_agent, "path": path}
    first, _, last = (user.name or "").partition(" ")
    return {
        "user_id": user.id,
        "username": user.email.split("@")[0],
        "email": user.email,
        "first_name": first,
        "last_name": last,
        "user_agent": user_agent,
        "path": path,
    }


def emit_login(user, user_agent, path, succeeded):
    """Emit user.login or user.login_failed for a known user's organization."""
    event_type = "user.login" if succeeded else "user.login_failed"
    return emit(user.org_id, event_type, login_data(user, user_agent, path, succeeded))


def select_event(org_id, event_id):
    """A select() of one event of the organization."""
    return select(Event).where(Event.org_id == org_id, Event.id == event_id)
