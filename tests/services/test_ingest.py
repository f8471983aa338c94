"""Ingest: one event row and one delivery per matching endpoint, queued after commit."""
import json

import pytest
from rq import Queue
from sqlalchemy import select

from app.extensions import db
from app.models import Delivery, Event, Project
from app.services import events
from tests import factories


def deliveries_of(event_id):
    return db.session.execute(
        select(Delivery).where(Delivery.event_id == event_id)
    ).scalars().all()


def queued_ids(app):
    ids = []
    for job in Queue(app.config["RQ_QUEUE"], connection=app.redis).get_jobs():
        ids.extend(job.args[0])
    return ids


def test_ingest_stores_event_and_one_delivery_per_subscribed_endpoint(app, org):
    wanted = factories.make_endpoint(org, events=["scan.completed", "scan.failed"])
    also = factories.make_endpoint(org, events=["scan.completed"])
    factories.make_endpoint(org, events=["scan.failed"])
    factories.make_endpoint(factories.make_org("Other"), events=["scan.completed"])
    ids = {wanted.id, also.id}

    ingested = events.ingest(org.id, "scan.completed", {"scan_id": "s-1"})

    rows = deliveries_of(ingested.event.id)
    assert {row.endpoint_id for row in rows} == ids
    assert sorted(ingested.delivery_ids) == sorted(row.id for row in rows)
    assert {row.status for row in rows} == {"pending"}
    assert sorted(queued_ids(app)) == sorted(ingested.delivery_ids)
    payload = json.loads(rows[0].payload)
    assert payload == {
        "event_id": ingested.event.id,
        "event_type": "scan.completed",
        "timestamp": payload["timestamp"],
        "data": {"company": org.id, "scan_id": "s-1"},
    }
    assert list(payload["data"]) == ["company", "scan_id"]
    assert payload["timestamp"].endswith("Z") and len(payload["timestamp"]) == 24


def test_project_filter_selects_by_data_project_id_or_string(app, org):
    any_project = factories.make_endpoint(org, projects=[])
    api_only = factories.make_endpoint(org, projects=["proj-api"])
    web_only = factories.make_endpoint(org, projects=["proj-web"])

    by_object = events.ingest(
        org.id, "scan.completed", {"project": {"id": "proj-api", "name": "API"}}
    )
    by_string = events.ingest(org.id, "scan.completed", {"project": "proj-web"})
    no_project = events.ingest(org.id, "scan.completed", {})

    def targets(ingested):
        return {row.endpoint_id for row in deliveries_of(ingested.event.id)}

    assert targets(by_object) == {any_project.id, api_only.id}
    assert targets(by_string) == {any_project.id, web_only.id}
    assert targets(no_project) == {any_project.id}


def test_status_filter_applies_to_issue_status_changed_only(app, org):
    fixed_only = factories.make_endpoint(
        org, events=["issue.status_changed", "issue.assigned"], statuses=["fixed"]
    )
    every_status = factories.make_endpoint(org, events=["issue.status_changed"])

    fixed = events.ingest(org.id, "issue.status_changed", {"status": "fixed"})
    reopened = events.ingest(org.id, "issue.status_changed", {"status": "open"})
    assigned = events.ingest(org.id, "issue.assigned", {"status": "open"})

    def targets(ingested):
        return {row.endpoint_id for row in deliveries_of(ingested.event.id)}

    assert targets(fixed) == {fixed_only.id, every_status.id}
    assert targets(reopened) == {every_status.id}
    assert targets(assigned) == {fixed_only.id}


def test_paused_and_disabled_endpoints_get_held_deliveries_not_jobs(app, org):
    from app.models import utcnow

    active = factories.make_endpoint(org)
    paused = factories.make_endpoint(org, is_active=False)
    disabled = factories.make_endpoint(org, disabled_at=utcnow())
    factories.make_endpoint(org, deleted_at=utcnow())

    ingested = events.ingest(org.id, "scan.completed", {})

    rows = {row.endpoint_id: row for row in deliveries_of(ingested.event.id)}
    assert set(rows) == {active.id, paused.id, disabled.id}
    assert queued_ids(app) == [rows[active.id].id]


def test_ingest_registers_the_project(app, org):
    events.ingest(org.id, "scan.completed", {"project": {"id": "p-9", "name": "Payments"}})
    project = db.session.execute(Project.for_org(org.id)).scalar_one()
    assert (project.external_id, project.name) == ("p-9", "Payments")


def test_a_project_is_remembered_only_once_its_transaction_commits(app, org):
    org_id = org.id
    events.register_project(org_id, {"id": "p-rolled-back", "name": "Gone"})
    db.session.rollback()

    events.ingest(org_id, "scan.completed", {"project": {"id": "p-rolled-back", "name": "Kept"}})
    events.ingest(org_id, "scan.completed", {"project": {"id": "p-rolled-back", "name": "Other"}})

    names = [p.name for p in events.list_projects(org_id) if p.external_id == "p-rolled-back"]
    assert names == ["Kept"]


@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [("nope.event", {}, "eventType"), ("scan.completed", [1], "data"), (None, {}, "eventType")],
)
def test_refused_events_store_nothing(app, org, event_type, data, field):
    factories.make_endpoint(org)
    with pytest.raises(events.EventError) as refused:
        events.ingest(org.id, event_type, data)
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.execute(select(Event)).first() is None
    assert db.session.execute(select(Delivery)).first() is None


def test_ingest_succeeds_with_redis_down(make_app, org):
    from app.embedded_redis import free_port

    endpoint = factories.make_endpoint(org)
    down = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with down.app_context():
        ingested = events.ingest(org.id, "scan.completed", {})
        assert [row.endpoint_id for row in deliveries_of(ingested.event.id)] == [endpoint.id]


def test_login_emits_user_login_to_subscribed_endpoints(app, org, admin, auth):
    endpoint = factories.make_endpoint(org, events=["user.login", "user.login_failed"])
    auth.login(admin.email, "wrong-password")
    auth.login(admin.email)
    rows = db.session.execute(
        select(Delivery).where(Delivery.endpoint_id == endpoint.id).order_by(Delivery.created_at)
    ).scalars().all()
    assert [row.event_type for row in rows] == ["user.login_failed", "user.login"]
    assert json.loads(rows[1].payload)["data"]["email"] == admin.email


def test_cli_emit_creates_and_queues_deliveries(app, runner, org):
    endpoint = factories.make_endpoint(org)
    result = runner.invoke(args=["emit", "--org", org.id, "scan.completed", '{"scan_id": "s-7"}'])
    assert result.exit_code == 0, result.output
    event_id = result.output.strip().splitlines()[-1]
    [row] = deliveries_of(event_id)
    assert row.endpoint_id == endpoint.id
    assert queued_ids(app) == [row.id]


def test_payload_filter_is_applied_with_the_project_and_status_filters(app, org):
    urgent = factories.make_endpoint(org, events=["issue.status_changed"], payload_filter=[
        {"path": "data.urgency", "op": "in", "value": ["HI", "CR"]}])
    urgent_fixed_api = factories.make_endpoint(
        org, events=["issue.status_changed"], statuses=["fixed"], projects=["api"],
        payload_filter=[{"path": "data.urgency", "op": "in", "value": ["HI", "CR"]},
                        {"path": "data.line_num", "op": "gt", "value": 10}])
    everything = factories.make_endpoint(org, events=["issue.status_changed"])

    def targets(**data):
        ingested = events.ingest(org.id, "issue.status_changed",
                                 {"issue_id": "i", "status": "fixed", **data})
        return {row.endpoint_id for row in deliveries_of(ingested.event.id)}

    api = {"id": "api", "name": "API"}
    assert targets(urgency="HI", line_num=45, project=api) == {
        urgent.id, urgent_fixed_api.id, everything.id}
    assert targets(urgency="HI", line_num="45", project=api) == {urgent.id, everything.id}
    assert targets(urgency="LO", line_num=45, project=api) == {everything.id}
    assert targets(urgency="CR", line_num=45, project={"id": "web"}) == {urgent.id, everything.id}
    assert targets(line_num=45, project=api) == {everything.id}


def test_ingest_sees_every_endpoint_change_at_once(app, api, org):
    """Ingest keeps an organization's endpoints between events; any change made through the
    endpoint service (here the API) is seen by the next event."""
    from app.services import events as event_service

    created = api.post("/webhooks", json={
        "name": "Filters", "url": "https://93.184.215.14/hook", "events": ["scan.completed"],
    }).get_json()
    first = event_service.ingest(org.id, "scan.completed", {"scan_id": "s-1"})
    assert len(first.delivery_ids) == 1
    api.patch(f"/webhooks/{created['id']}", json={"events": ["scan.started"]})
    assert event_service.ingest(org.id, "scan.completed", {"scan_id": "s-2"}).delivery_ids == []
    api.post("/webhooks", json={
        "name": "Second", "url": "https://93.184.215.14/other", "events": ["scan.completed"],
    })
    assert len(event_service.ingest(org.id, "scan.completed", {"scan_id": "s-3"}).delivery_ids) == 1
    api.delete(f"/webhooks/{created['id']}")
    assert len(event_service.ingest(org.id, "scan.started", {"scan_id": "s-4"}).delivery_ids) == 0


def test_ingest_without_redis_reads_the_endpoints_every_time(make_app, org):
    from app.embedded_redis import free_port
    from app.services import endpoints as endpoint_service
    from app.services import events as event_service

    org_id = org.id
    down = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with down.app_context():
        endpoint, _ = endpoint_service.create_endpoint(org_id, None, {
            "name": "No Redis", "url": "https://93.184.215.14/hook", "events": ["scan.completed"],
        })
        made = event_service.ingest(org_id, "scan.completed", {"scan_id": "a"}).delivery_ids
        assert len(made) == 1
        endpoint_service.update_endpoint(org_id, None, endpoint, {"events": ["scan.started"]})
        assert event_service.ingest(org_id, "scan.completed", {"scan_id": "b"}).delivery_ids == []
