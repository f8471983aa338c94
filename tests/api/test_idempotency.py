"""Idempotency-Key on POST /events: one event per key, replays, reuse, expiry, concurrency."""
import threading
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from app.extensions import db
from app.models import Delivery, Event, IdempotencyKey, utcnow
from app.services import events, retention
from tests import factories

EVENT = {"eventType": "scan.completed", "data": {"scan_id": "s-1", "issues_found": 3}}


def count(model):
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def send(api, key, body=EVENT):
    return api.post("/events", json=body, headers={"Idempotency-Key": key})


def test_a_repeated_key_returns_the_first_event_and_creates_nothing(app, api, org):
    factories.make_endpoint(org)
    factories.make_endpoint(org)

    first = send(api, "order-42")
    again = send(api, "order-42", {"data": EVENT["data"], "eventType": "scan.completed"})

    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json == {"eventId": first.json["eventId"], "deliveries": 2}
    assert (count(Event), count(Delivery)) == (1, 2)


def test_the_same_key_with_another_body_is_a_409(app, api, org):
    send(api, "order-42")
    other = send(api, "order-42", {**EVENT, "data": {"scan_id": "s-2"}})
    assert other.status_code == 409
    error = other.json["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in error["fields"] and "different event" in error["message"]
    assert count(Event) == 1


def test_keys_belong_to_one_organization(app, api, client, org):
    other = type(api)(client, factories.make_token(factories.make_org("Other"))[1])
    mine, theirs = send(api, "shared-key"), send(other, "shared-key")
    assert mine.status_code == theirs.status_code == 202
    assert mine.json["eventId"] != theirs.json["eventId"]


def test_a_key_older_than_24_hours_starts_a_new_event(app, api, org):
    first = send(api, "daily-report")
    with freeze_time(utcnow() + timedelta(hours=24, seconds=1)):
        later = send(api, "daily-report", {**EVENT, "data": {"scan_id": "s-9"}})
    assert later.status_code == 202
    assert later.json["eventId"] != first.json["eventId"]
    assert count(Event) == 2


def test_a_refused_event_does_not_use_up_its_key(app, api, org):
    refused = send(api, "retry-me", {**EVENT, "data": {}})
    accepted = send(api, "retry-me")
    assert (refused.status_code, accepted.status_code) == (422, 202)


@pytest.mark.parametrize("key", ["", "x" * 256, "café", "tab\there", "bell\x07"])
def test_a_malformed_key_is_refused_naming_the_header(app, api, org, key):
    response = send(api, key)
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "Idempotency-Key": "Idempotency-Key must be 1 to 255 printable ASCII characters"}
    assert count(Event) == 0


def test_keys_of_any_printable_length_up_to_255_are_taken(app, api, org):
    assert send(api, "~" * 255).status_code == 202
    assert send(api, " ").status_code == 202


def _race(app, calls):
    """Run the calls at once, each in a thread with its own app context; their results."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index, call):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results[index] = call()
            except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_concurrent_ingests_with_one_key_store_one_event(app, org):
    factories.make_endpoint(org)
    org_id = org.id

    def call():
        return events.receive(org_id, "scan.completed", {"scan_id": "s-1"},
                              idempotency_key="burst")

    results = _race(app, [call] * 8)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.event_id for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False] + [True] * 7
    assert {r.delivery_count for r in results} == {1}
    assert (count(Event), count(Delivery), count(IdempotencyKey)) == (1, 1, 1)


def test_concurrent_api_calls_with_one_key_answer_one_202_and_replays(app, org, token):
    factories.make_endpoint(org)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "burst"}

    def call():
        return app.test_client().post("/api/sch/org/events", json=EVENT, headers=headers)

    responses = _race(app, [call] * 6)

    assert sorted(r.status_code for r in responses) == [200] * 5 + [202]
    assert len({r.json["eventId"] for r in responses}) == 1
    assert all(r.headers.get("Idempotent-Replayed") == "true"
               for r in responses if r.status_code == 200)
    assert (count(Event), count(Delivery)) == (1, 1)


def test_concurrent_calls_with_one_key_and_different_bodies_store_one(app, org, token):
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "clash"}

    def call(n):
        body = {**EVENT, "data": {"scan_id": f"s-{n}"}}
        return lambda: app.test_client().post("/api/sch/org/events", json=body,
                                              headers=headers)

    responses = _race(app, [call(n) for n in range(4)])

    assert sorted(r.status_code for r in responses) == [202, 409, 409, 409]
    assert count(Event) == 1


def test_retention_purges_keys_older_than_24_hours(app, org):
    now = utcnow()
    with freeze_time(now - timedelta(hours=25)):
        events.receive(org.id, "scan.completed", {"scan_id": "old"}, idempotency_key="old")
    with freeze_time(now - timedelta(hours=23)):
        events.receive(org.id, "scan.completed", {"scan_id": "new"}, idempotency_key="new")

    removed = retention.purge(now=now)

    assert removed["idempotency_keys"] == 1
    db.session.expire_all()
    assert db.session.execute(select(IdempotencyKey.key)).scalars().all() == ["new"]
    assert count(Event) == 2


def test_cli_emit_takes_an_idempotency_key(app, runner, org):
    args = ["emit", "--org", org.id, "--idempotency-key", "cli-1", "scan.completed",
            '{"scan_id": "s-1"}']
    first, again = runner.invoke(args=args), runner.invoke(args=args)
    assert first.exit_code == again.exit_code == 0, (first.output, again.output)
    assert first.stdout.strip() == again.stdout.strip()
    assert "was not emitted again" in again.stderr
    assert count(Event) == 1
    reused = runner.invoke(args=[*args[:-1], '{"scan_id": "s-2"}'])
    assert reused.exit_code != 0 and "already used for a different event" in reused.output
    bad = runner.invoke(args=["emit", "--org", org.id, "--idempotency-key", "", "scan.completed",
                              '{"scan_id": "s-1"}'])
    assert bad.exit_code != 0 and "Idempotency-Key must be 1 to 255" in bad.output
