"""Retries on schedule, auto-disable, auto-pause, holding, resume and delete."""
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.jobs.scheduling import scheduler, to_naive_utc
from app.jobs.sweeper import sweep
from app.models import Attempt, Delivery, utcnow
from app.services import events
from tests.jobs.engine import (
    attempt_now,
    attempts_of,
    delivery,
    endpoint_row,
    make_endpoint,
    run_until,
    run_worker,
)


@pytest.fixture
def config_overrides():
    return {
        "WEBHOOK_RETRY_DELAYS_QUICK": (1, 1),
        "WEBHOOK_RETRY_DELAYS_STANDARD": (0, 0, 0, 0),
    }


def emit(org_id, count=1, event_type="scan.completed"):
    ids = []
    for _ in range(count):
        ids += events.ingest(org_id, event_type, {}).delivery_ids
    return ids


def statuses(ids):
    db.session.expire_all()
    return [db.session.get(Delivery, i).status for i in ids]


def test_quick_policy_retries_after_the_configured_delays_and_delivers(app, org, receiver):
    make_endpoint(org, receiver.url, retryPolicy="quick")
    receiver.queue(500, 500, 200)
    [delivery_id] = emit(org.id)

    run_until(app, lambda: delivery(delivery_id).status == "delivered")

    got = receiver.wait_for(3)
    assert len(got) == 3
    assert {r.headers["X-Hookline-Delivery"] for r in got} == {delivery_id}
    assert len({r.headers["webhook-id"] for r in got}) == 1
    assert got[1].received_at - got[0].received_at >= 1.0
    assert got[2].received_at - got[1].received_at >= 1.0
    assert got[2].received_at - got[0].received_at < 6.0
    attempts = attempts_of(delivery_id)
    assert [(a.number, a.trigger, a.response_status) for a in attempts] == [
        (1, "auto", 500), (2, "retry", 500), (3, "retry", 200)
    ]
    assert delivery(delivery_id).attempt_count == 3


def test_standard_policy_spacing_and_exhaustion_disable_the_endpoint(make_app, org, receiver):
    standard = make_app(WEBHOOK_RETRY_DELAYS_STANDARD=(60, 300, 1800, 7200))
    receiver.answer(500)
    org_id = org.id
    with standard.app_context():
        endpoint_id, _ = make_endpoint(org, receiver.url)
        [delivery_id] = emit(org_id)
        gaps = []
        for _ in range(5):
            attempt_now(delivery_id)
            row = delivery(delivery_id)
            if row.next_attempt_at is not None:
                gaps.append(row.next_attempt_at - row.updated_at)
                scheduled = dict(
                    (job.args[0][0], at) for job, at in scheduler().get_jobs(with_times=True)
                )
                due = to_naive_utc(row.next_attempt_at)
                assert due <= scheduled[delivery_id] < due + timedelta(seconds=1)
                db.session.execute(
                    update(Delivery).where(Delivery.id == delivery_id)
                    .values(next_attempt_at=utcnow())
                )
                db.session.commit()
        row = delivery(delivery_id)
        assert (row.status, row.attempt_count, row.next_attempt_at) == ("exhausted", 5, None)
        endpoint = endpoint_row(endpoint_id)
        assert endpoint.disabled_at is not None
        assert "5 attempts" in endpoint.disabled_reason
        # Seed 000: "to re-enable, click Active": disabling switches the toggle off.
        assert endpoint.is_active is False

    assert [round(gap.total_seconds()) for gap in gaps] == [60, 300, 1800, 7200]
    assert len(receiver.requests) == 5


def test_exhausted_endpoint_holds_new_events_until_resumed(app, api, org, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    org_id = org.id
    receiver.queue(*[500] * 5)
    [first] = emit(org_id)
    run_until(app, lambda: delivery(first).status == "exhausted")
    assert endpoint_row(endpoint_id).disabled_at is not None

    held = emit(org_id, 2)
    run_worker(app)
    assert len(receiver.requests) == 5
    assert statuses(held) == ["pending", "pending"]
    assert api.get(f"/webhooks/{endpoint_id}").json["status"] == "disabled"

    response = api.patch(f"/webhooks/{endpoint_id}", json={"isActive": True})
    assert response.status_code == 200
    run_worker(app)

    got = receiver.wait_for(7)
    assert [r.headers["X-Hookline-Delivery"] for r in got[5:]] == held
    assert statuses(held) == ["delivered", "delivered"]
    assert statuses([first]) == ["exhausted"]
    assert endpoint_row(endpoint_id).disabled_at is None


def test_quick_policy_pauses_after_ten_consecutive_failures(app, make_app, api, org, receiver):
    fast = make_app(WEBHOOK_RETRY_DELAYS_QUICK=(0, 0))
    org_id = org.id
    receiver.answer(500)
    with fast.app_context():
        endpoint_id, _ = make_endpoint(org, receiver.url, retryPolicy="quick")
        failing = emit(org_id, 4)
        run_until(fast, lambda: not endpoint_row(endpoint_id).is_active)
        run_until(fast, lambda: True)
        endpoint = endpoint_row(endpoint_id)
        assert len(receiver.requests) == 10
        assert endpoint.consecutive_failures == 10
        assert "10 consecutive failed attempts" in endpoint.disabled_reason
        waiting = [i for i in failing if delivery(i).status == "failed"]
        assert len(waiting) >= 1

        held = emit(org_id, 1)
        run_until(fast, lambda: True)
        assert len(receiver.requests) == 10

    assert api.get(f"/webhooks/{endpoint_id}").json["status"] == "paused"
    receiver.answer(200)
    api.patch(f"/webhooks/{endpoint_id}", json={"isActive": True})
    run_worker(app)

    assert statuses(held + waiting) == ["delivered"] * (1 + len(waiting))
    resent = [r.headers["X-Hookline-Delivery"] for r in receiver.requests[10:]]
    assert resent == sorted(set(resent), key=(waiting + held).index)
    assert endpoint_row(endpoint_id).consecutive_failures == 0


def test_resume_with_discard_held_cancels_what_waited(app, api, org, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    api.patch(f"/webhooks/{endpoint_id}", json={"isActive": False})
    held = emit(org.id, 3)
    run_worker(app)
    assert receiver.requests == []

    api.patch(f"/webhooks/{endpoint_id}", json={"isActive": True, "discardHeld": True})
    run_until(app, lambda: True)

    assert statuses(held) == ["cancelled"] * 3
    assert receiver.requests == []


def test_delete_cancels_pending_and_scheduled_deliveries(app, api, org, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url, retryPolicy="quick")
    org_id = org.id
    receiver.answer(500)
    retrying = emit(org_id)
    run_worker(app)
    assert statuses(retrying) == ["failed"]
    queued = emit(org_id, 2)

    assert api.delete(f"/webhooks/{endpoint_id}").status_code == 204
    time.sleep(1.1)
    sweep(grace_seconds=0)
    run_until(app, lambda: True)

    assert len(receiver.requests) == 1
    assert statuses(retrying + queued) == ["cancelled"] * 3
    assert db.session.execute(
        select(func.count(Attempt.id)).where(Attempt.delivery_id.in_(queued))
    ).scalar_one() == 0


def test_a_retry_that_comes_due_while_paused_waits(app, api, org, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url, retryPolicy="quick")
    receiver.queue(500)
    [delivery_id] = emit(org.id)
    run_worker(app)
    api.patch(f"/webhooks/{endpoint_id}", json={"isActive": False})
    db.session.execute(
        update(Delivery).values(next_attempt_at=utcnow() - timedelta(minutes=5))
    )
    db.session.commit()

    run_until(app, lambda: True)
    assert len(receiver.requests) == 1
    assert delivery(delivery_id).status == "failed"

    api.patch(f"/webhooks/{endpoint_id}", json={"isActive": True})
    run_worker(app)
    assert delivery(delivery_id).status == "delivered"
    assert len(receiver.requests) == 2
