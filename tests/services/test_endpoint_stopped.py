"""Operational events: emit_endpoint_stopped() tells the organization, never the stopped one."""
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Delivery, Event
from app.services import event_schemas, events
from tests import factories
from tests.jobs.engine import make_endpoint, run_worker

AT = datetime(2025, 1, 15, 16, 20, 5, 123000, tzinfo=UTC)


def targets(ingested):
    return {row.endpoint_id for row in db.session.execute(
        select(Delivery).where(Delivery.event_id == ingested.event_id)).scalars()}


def test_disabled_event_reaches_subscribers_but_not_the_stopped_endpoint(app, org, receiver):
    stopped, _ = make_endpoint(org, receiver.url + "/stopped", events=["webhook.disabled"])
    watcher, _ = make_endpoint(org, receiver.url + "/watcher",
                               events=["webhook.disabled", "webhook.paused"],
                               projects=["only-this-project"])
    make_endpoint(org, receiver.url + "/scans", events=["scan.completed"])
    make_endpoint(factories.make_org("Other"), receiver.url + "/other",
                  events=["webhook.disabled"])

    ingested = events.emit_endpoint_stopped(
        stopped, "disabled", "Receiver answered 410 Gone", "HTTP 410", AT)

    org_id = org.id
    assert ingested.event.type == "webhook.disabled" and ingested.event.org_id == org_id
    assert targets(ingested) == {watcher}
    run_worker(app)
    [sent] = receiver.wait_for(1)
    assert sent.path == "/watcher"
    assert sent.headers["X-Hookline-Event"] == "webhook.disabled"
    data = sent.json()["data"]
    assert data == {
        "company": org_id,
        "webhook": {"id": stopped, "name": "Receiver", "url": receiver.url},
        "reason": "Receiver answered 410 Gone",
        "disabled_at": "2025-01-15T16:20:05.123Z",
        "last_error": "HTTP 410",
    }
    event_schemas.check("webhook.disabled", data)
    assert [r.path for r in receiver.requests] == ["/watcher"]


def test_the_event_names_where_the_stopped_endpoint_points_never_its_secret_path(
        app, org, receiver):
    # Chat and automation webhooks are keyed by their URL's path or query: another
    # receiver of the organization must not learn it from the event.
    secret_url = receiver.url + "/services/T0AB12/B0CD34/Zx9s3cretPath?token=q7Secret"
    stopped, _ = make_endpoint(org, secret_url)
    make_endpoint(org, receiver.url + "/watcher", events=["webhook.disabled"])

    events.emit_endpoint_stopped(
        stopped, "disabled", "Disabled automatically: a delivery failed all 5 attempts",
        f"Redirect to {secret_url.replace('http:', 'https:')} not followed", AT)
    run_worker(app)

    [sent] = receiver.wait_for(1)
    data = sent.json()["data"]
    assert data["webhook"]["url"] == receiver.url
    assert data["last_error"] == (
        f"Redirect to {receiver.url.replace('http:', 'https:')} not followed")
    assert "3cret" not in sent.body.decode() and "T0AB12" not in sent.body.decode()
    stored = db.session.execute(select(Event).where(Event.type == "webhook.disabled")).scalar_one()
    assert "3cret" not in json.dumps(stored.data)


def test_paused_event_carries_paused_at_and_may_have_no_last_error(app, org, receiver):
    stopped, _ = make_endpoint(org, receiver.url + "/a", retryPolicy="quick")
    watcher, _ = make_endpoint(org, receiver.url + "/b", events=["webhook.paused"])

    ingested = events.emit_endpoint_stopped(
        stopped, "paused", "Paused automatically after 10 consecutive failed attempts", None,
        AT)

    assert ingested.event.type == "webhook.paused"
    assert ingested.event.data["paused_at"] == "2025-01-15T16:20:05.123Z"
    assert ingested.event.data["last_error"] is None
    assert targets(ingested) == {watcher}


def test_a_second_call_for_the_same_stop_is_not_a_second_event(app, org, receiver):
    stopped, _ = make_endpoint(org, receiver.url + "/a")
    make_endpoint(org, receiver.url + "/b", events=["webhook.disabled"])
    first = events.emit_endpoint_stopped(stopped, "disabled", "r", "HTTP 500", AT)
    again = events.emit_endpoint_stopped(stopped, "disabled", "r", "HTTP 500", AT)
    assert again.replayed and again.event_id == first.event_id
    later = events.emit_endpoint_stopped(stopped, "disabled", "r", "HTTP 500",
                                         AT.replace(hour=17))
    assert later.event_id != first.event_id
    assert len(db.session.execute(select(Event.id)).all()) == 2


def test_long_texts_are_cut_and_bad_arguments_refused(app, org, receiver):
    stopped, _ = make_endpoint(org, receiver.url)
    ingested = events.emit_endpoint_stopped(stopped, "disabled", "r" * 5000, "e" * 5000, AT)
    assert len(ingested.event.data["reason"]) == len(ingested.event.data["last_error"]) == 2000
    with pytest.raises(ValueError, match="kind must be one of disabled, paused"):
        events.emit_endpoint_stopped(stopped, "exploded", "r", None, AT)
    with pytest.raises(ValueError, match="timezone-aware"):
        events.emit_endpoint_stopped(stopped, "disabled", "r", None, datetime(2025, 1, 1))
    assert events.emit_endpoint_stopped("no-such-endpoint", "disabled", "r", None, AT) is None


def test_the_event_payload_is_what_the_docs_sample_shows(app, org, receiver):
    stopped, _ = make_endpoint(org, receiver.url)
    ingested = events.emit_endpoint_stopped(stopped, "disabled", "r", "x", AT)
    from app import catalog

    assert set(ingested.event.data) == set(catalog.sample_data("webhook.disabled"))
    delivery_payloads = db.session.execute(select(Delivery.payload)).scalars().all()
    assert all(json.loads(p)["event_type"] == "webhook.disabled" for p in delivery_payloads)
