"""Endpoint options through the API: payloadFilter, rateLimit and ordered; their audit."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry

PUBLIC_URL = "https://93.184.215.14/hook"
URGENT = [{"path": "data.urgency", "op": "in", "value": ["HI", "CR"]}]


@pytest.fixture
def config_overrides():
    return {"WEBHOOK_ALLOW_HTTP": False, "WEBHOOK_ALLOW_PRIVATE_TARGETS": False}


def create(api, **fields):
    body = {"name": "Ops", "url": PUBLIC_URL, "events": ["issue.status_changed"], **fields}
    return api.post("/webhooks", json=body)


def test_defaults_are_no_filter_no_limit_and_unordered(api):
    created = create(api).get_json()
    assert (created["payloadFilter"], created["rateLimit"], created["ordered"]) == (
        [], None, False)


def test_options_are_saved_read_and_changed(api):
    created = create(api, payloadFilter=[*URGENT, {"path": "data.project.id", "op": "exists"}],
                     rateLimit=5, ordered=True).get_json()
    assert created["payloadFilter"] == [
        *URGENT, {"path": "data.project.id", "op": "exists", "value": True}]
    assert (created["rateLimit"], created["ordered"]) == (5, True)
    read = api.get(f"/webhooks/{created['id']}").get_json()
    assert (read["payloadFilter"], read["rateLimit"], read["ordered"]) == (
        created["payloadFilter"], 5, True)

    patched = api.patch(f"/webhooks/{created['id']}", json={
        "rateLimit": None, "ordered": False, "payloadFilter": URGENT}).get_json()
    assert (patched["payloadFilter"], patched["rateLimit"], patched["ordered"]) == (
        URGENT, None, False)
    listed = api.get("/webhooks").get_json()["data"][0]
    assert (listed["payloadFilter"], listed["rateLimit"]) == (URGENT, None)


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"rateLimit": 0}, "rateLimit", "from 1 to 1,000, or empty for no limit"),
    ({"rateLimit": 1001}, "rateLimit", "from 1 to 1,000"),
    ({"rateLimit": 2.5}, "rateLimit", "whole number"),
    ({"rateLimit": "5"}, "rateLimit", "whole number"),
    ({"rateLimit": True}, "rateLimit", "whole number"),
    ({"ordered": "yes"}, "ordered", "ordered must be true or false"),
    ({"ordered": None}, "ordered", "ordered must be true or false"),
    ({"payloadFilter": [{"path": "data.urgency", "op": "like", "value": "H"}]},
     "payloadFilter", "Condition 1: unknown op 'like'"),
    ({"payloadFilter": [{"path": "urgency", "op": "eq", "value": "HI"}]},
     "payloadFilter", "must start with data"),
    ({"payloadFilter": [{"path": "data.urgency", "op": "in", "value": "HI"}]},
     "payloadFilter", "in takes a list"),
    ({"payloadFilter": [{"path": "data.x", "op": "exists"}] * 21},
     "payloadFilter", "at most 20 conditions"),
    ({"payloadFilter": "data.urgency = HI"}, "payloadFilter", "must be a list"),
    ({"payloadFilter": [{"path": "data.\x00", "op": "exists"}]}, "payloadFilter",
     "without NUL"),
])
def test_bad_options_are_422_naming_the_field(api, body, field, message):
    response = create(api, **body)
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert list(fields) == [field] and message in fields[field]
    assert api.get("/webhooks").get_json()["data"] == []
    saved = create(api).get_json()
    response = api.patch(f"/webhooks/{saved['id']}", json=body)
    assert response.status_code == 422 and message in response.get_json()["error"]["fields"][field]


def test_options_are_in_the_audit_log_without_filter_values(api):
    created = create(api, payloadFilter=URGENT, rateLimit=10).get_json()
    api.patch(f"/webhooks/{created['id']}", json={"ordered": True})
    api.patch(f"/webhooks/{created['id']}", json={"name": "Renamed"})
    entries = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    details = [(entry.action, entry.details) for entry in entries]
    assert details[0][1]["rate_limit"] == 10
    assert details[0][1]["payload_filter_conditions"] == 1
    assert details[1] == ("endpoint.update", {
        "name": "Ops", "changed": ["ordered"], "rate_limit": 10, "ordered": True,
        "payload_filter_conditions": 1})
    assert details[2] == ("endpoint.update", {"name": "Renamed", "changed": ["name"]})
    assert all("HI" not in str(entry.details) for entry in entries)
