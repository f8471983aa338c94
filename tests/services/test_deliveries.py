"""Delivery rules the endpoint pages and history build on: cancel, hold, release, retry, replay;
and that none of them touches a delivery being sent."""
from datetime import timedelta

from rq import Queue

from app.extensions import db
from app.jobs.enqueue import BATCH_SIZE, enqueue_deliveries
from app.models import utcnow
from app.services import deliveries, delivery_state
from tests import factories
from tests.jobs.engine import delivery


def queued_ids(app):
    """Every delivery id waiting in the queue, in queue order."""
    ids = []
    for job in Queue(app.config["RQ_QUEUE"], connection=app.redis).get_jobs():
        ids.extend(job.args[0])
    return ids


def test_cancel_for_endpoint_cancels_only_waiting_deliveries(app, org):
    endpoint = factories.make_endpoint(org)
    pending = factories.make_delivery(endpoint, status="pending", next_attempt_at=utcnow())
    failed = factories.make_delivery(endpoint, status="failed", next_attempt_at=utcnow())
    done = factories.make_delivery(endpoint, status="delivered")
    other = factories.make_delivery(factories.make_endpoint(org), status="pending")
    sending = factories.make_delivery(endpoint, status="failed", next_attempt_at=utcnow(),
                                      locked_until=utcnow() + timedelta(seconds=30),
                                      lease_token="a-live-claim")
    ids = pending.id, failed.id, done.id, other.id, sending.id

    assert delivery_state.cancel_for_endpoint(endpoint.id) == 2
    db.session.commit()

    states = [delivery(i).status for i in ids]
    # The one being sent is its sender's to finish (it ends cancelled when recorded).
    assert states == ["cancelled", "cancelled", "delivered", "pending", "failed"]
    assert delivery(ids[0]).next_attempt_at is None
    assert delivery(sending.id).lease_token == "a-live-claim"


def test_held_count_counts_pending_and_failed(app, org):
    endpoint = factories.make_endpoint(org, is_active=False)
    for status in ("pending", "failed", "failed", "delivered", "exhausted", "cancelled"):
        factories.make_delivery(endpoint, status=status)
    assert deliveries.held_count(endpoint.id) == 3


def test_release_held_makes_waiting_deliveries_due_and_leaves_live_claims(app, org):
    endpoint = factories.make_endpoint(org, is_active=False)
    later = utcnow() + timedelta(hours=2)
    start = utcnow() - timedelta(hours=1)
    made = [
        factories.make_delivery(
            endpoint, status=status, next_attempt_at=later,
            created_at=start + timedelta(minutes=minute),
        ).id
        for minute, status in ((5, "failed"), (1, "pending"), (3, "pending"))
    ]
    factories.make_delivery(endpoint, status="delivered")
    lease = utcnow() + timedelta(seconds=30)
    sending = factories.make_delivery(endpoint, status="pending", next_attempt_at=later,
                                      locked_until=lease, lease_token="a-live-claim").id

    assert delivery_state.release_held(endpoint.id) == 3
    db.session.commit()

    assert all(delivery(i).next_attempt_at <= utcnow() for i in made)
    assert {delivery(i).status for i in made} == {"pending", "failed"}
    untouched = delivery(sending)
    assert (untouched.next_attempt_at, untouched.locked_until, untouched.lease_token) == (
        later, lease, "a-live-claim")


def test_request_attempts_requeues_failed_and_exhausted_of_this_org_only(app, org):
    endpoint = factories.make_endpoint(org)
    later = utcnow() + timedelta(hours=1)
    failed = factories.make_delivery(endpoint, status="failed", next_attempt_at=later).id
    exhausted = factories.make_delivery(endpoint, status="exhausted").id
    delivered = factories.make_delivery(endpoint, status="delivered").id
    stranger = factories.make_delivery(
        factories.make_endpoint(factories.make_org("Other")), status="failed"
    ).id

    changed = deliveries.request_attempts(
        org.id, [failed, exhausted, delivered, stranger], "manual"
    )

    assert sorted(changed) == sorted([failed, exhausted])
    for delivery_id in changed:
        row = delivery(delivery_id)
        assert (row.status, row.next_trigger) == ("pending", "manual")
        assert row.next_attempt_at <= utcnow()
    assert delivery(delivered).status == "delivered"
    assert delivery(stranger).status == "failed"
    assert sorted(queued_ids(app)) == sorted(changed)


def test_request_attempts_skips_deleted_endpoints(app, org):
    endpoint = factories.make_endpoint(org, deleted_at=utcnow())
    failed = factories.make_delivery(endpoint, status="failed").id
    assert deliveries.request_attempts(org.id, [failed], "manual") == []
    assert delivery(failed).status == "failed"


def test_replay_resends_failed_and_exhausted_since_a_time(app, org):
    endpoint = factories.make_endpoint(org)
    since = utcnow() - timedelta(hours=1)
    old = factories.make_delivery(
        endpoint, status="failed", created_at=since - timedelta(minutes=1)
    ).id
    recent = [
        factories.make_delivery(endpoint, status=s, created_at=since + timedelta(minutes=1)).id
        for s in ("failed", "exhausted", "delivered")
    ]

    assert deliveries.replay(org.id, endpoint.id, since) == 2

    assert delivery(old).status == "failed"
    assert [delivery(i).status for i in recent] == ["pending", "pending", "delivered"]
    assert sorted(queued_ids(app)) == sorted(recent[:2])


def test_enqueue_deliveries_batches_ids_in_order(app):
    ids = [f"d-{n:03d}" for n in range(BATCH_SIZE * 2 + 3)]
    assert enqueue_deliveries(ids) == 3
    assert queued_ids(app) == ids


def test_enqueue_deliveries_survives_redis_being_down(make_app):
    from app.embedded_redis import free_port

    down = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with down.app_context():
        assert enqueue_deliveries(["a", "b"]) == 0

