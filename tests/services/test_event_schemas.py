"""Event schemas: derived from the catalog samples, checked on ingest, naming the field."""
import pytest
from jsonschema import Draft202012Validator

from app import catalog
from app.models import User
from app.services import event_schemas, events


def test_every_schema_is_a_valid_2020_12_schema_that_its_sample_matches():
    for event in catalog.CATALOG:
        Draft202012Validator.check_schema(event.schema)
        assert event.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert Draft202012Validator(event.schema).is_valid(catalog.sample_data(event.type))
        assert event.required and set(event.required) <= set(event.schema["required"])


def test_fields_are_typed_as_the_samples_show_them_and_extra_fields_are_allowed():
    schema = catalog.get("scan.completed").schema
    properties = schema["properties"]
    assert schema["required"] == ["scan_id"]
    assert properties["scan_id"] == {"type": "string"}
    assert properties["issues_found"] == {"type": ["integer", "null"]}
    assert properties["project"]["required"] == ["id"]
    assert properties["project"]["properties"]["id"] == {"type": "string"}
    assert schema["additionalProperties"] is True
    assigned = catalog.get("assignment.created").schema["properties"]["issue_ids"]
    assert assigned == {"type": ["array", "null"], "items": {"type": "string"}}


@pytest.mark.parametrize(("event_type", "data", "path", "message"), [
    ("scan.completed", {}, "data.scan_id", "data.scan_id is required"),
    ("scan.completed", {"scan_id": 7}, "data.scan_id", "data.scan_id must be a string"),
    ("scan.completed", {"scan_id": None}, "data.scan_id", "data.scan_id must be a string"),
    ("scan.completed", {"scan_id": "s", "project": {"id": 5}}, "data.project.id",
     "data.project.id must be a string"),
    ("scan.completed", {"scan_id": "s", "project": {"name": "API"}}, "data.project.id",
     "data.project.id is required"),
    ("scan.completed", {"scan_id": "s", "project": "proj-1"}, "data.project",
     "data.project must be an object or null"),
    ("scan.completed", {"scan_id": "s", "issues_found": "8"}, "data.issues_found",
     "data.issues_found must be an integer or null"),
    ("assignment.created", {"assignment_id": "a", "issue_ids": ["i", 2]}, "data.issue_ids[1]",
     "data.issue_ids[1] must be a string"),
    ("user.login", {"user_id": True, "username": "jane"}, "data.user_id",
     "data.user_id must be an integer"),
    ("issue.assigned", {"issue_id": "i"}, "data.assigned_to", "data.assigned_to is required"),
])
def test_a_mismatch_names_the_failing_field(event_type, data, path, message):
    with pytest.raises(event_schemas.DataInvalid) as raised:
        event_schemas.check(event_type, data)
    assert (raised.value.path, str(raised.value)) == (path, message)


def test_optional_fields_may_be_null_or_absent_and_unknown_fields_pass():
    event_schemas.check("scan.completed", {"scan_id": "s", "project": None, "branch": None,
                                           "runner": {"anything": [1, 2]}})
    event_schemas.check("issue.assigned", {"issue_id": "i", "assigned_to": {"id": "u"},
                                           "previously_assigned_to": None})


def test_each_schema_is_compiled_once_per_process():
    assert event_schemas.validator("scan.completed") is event_schemas.validator("scan.completed")


@pytest.mark.parametrize("name", ["Jane Doe", "", "Prince"])
@pytest.mark.parametrize("succeeded", [True, False])
def test_login_events_carry_data_their_schema_accepts(name, succeeded):
    user = User(id=42, org_id="org-1", email="jane.doe@example.test", name=name)
    data = events.login_data(user, "Mozilla/5.0", "/login", succeeded)
    event_type = "user.login" if succeeded else "user.login_failed"
    event_schemas.check(event_type, {"company": "org-1", **data})


def test_receive_refuses_bad_data_and_hooklines_own_types(app, org):
    with pytest.raises(events.EventError) as raised:
        events.receive(org.id, "scan.completed", {"scan_id": "s", "project": {"id": 1}})
    assert raised.value.field == "data.project.id"
    with pytest.raises(events.EventError) as raised:
        events.receive(org.id, "webhook.disabled", catalog.get("webhook.disabled").sample)
    assert raised.value.field == "eventType" and "sent by Hookline itself" in str(raised.value)
    stored = events.receive(org.id, "scan.completed", {"scan_id": "s", "extra": True})
    assert stored.event.data == {"company": org.id, "scan_id": "s", "extra": True}
