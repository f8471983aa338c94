"""The scheduling adapter and the sweeper: the database decides what is queued."""
from datetime import timedelta

from sqlalchemy import update

from app.extensions import db
from app.jobs import scheduling
from app.jobs.sweeper import sweep
from app.models import Delivery, utcnow
from app.services import due_work, events
from tests import factories
from tests.jobs.engine import delivery, make_endpoint, run_worker


def test_periodic_jobs_are_registered_once_under_stable_ids(app):
    scheduling.register_periodic_jobs()
    scheduling.register_periodic_jobs()
    jobs = list(scheduling.scheduler().get_jobs())
    assert sorted(job.id for job in jobs) == sorted(j[0] for j in scheduling.PERIODIC_JOBS)
    sweeper = next(job for job in jobs if job.id == "hookline-sweeper")
    assert sweeper.func_name == "app.jobs.sweeper.sweep"
    assert sweeper.meta["interval"] == app.config["WEBHOOK_SWEEP_SECONDS"]


def test_periodic_jobs_keep_coming_back_after_they_run(make_app):
    import time

    fast = make_app(WEBHOOK_SWEEP_SECONDS=1)
    with fast.app_context():
        target = scheduling.scheduler()
        scheduling.register_periodic_jobs(target)
        for _ in range(3):
            time.sleep(1.1)
            # Due again: the scheduler queues it, a worker runs it.
            target.enqueue_jobs()
            assert "hookline-sweeper" in fast.task_queue.job_ids
            run_worker(fast)
            assert fast.task_queue.job_ids == []
        assert "hookline-sweeper" in target


def test_a_retry_is_queued_at_its_time_not_at_the_next_whole_second(app):
    from freezegun import freeze_time

    now = utcnow().replace(microsecond=0)
    at = now + timedelta(seconds=2, milliseconds=400)
    with freeze_time(now):
        scheduling.schedule_attempt("some-delivery", at)
    target = scheduling.scheduler()

    def queued_by(moment):
        with freeze_time(moment):
            return [job.args for job in target.get_jobs_to_queue()]

    assert queued_by(at - timedelta(milliseconds=50)) == []
    assert queued_by(at + timedelta(milliseconds=50)) == [(["some-delivery"],)]


def test_schedule_attempt_survives_redis_being_down(make_app):
    from app.embedded_redis import free_port

    down = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with down.app_context():
        scheduling.schedule_attempt("some-delivery", utcnow() + timedelta(seconds=5))


def test_sweep_queues_due_deliveries_and_leaves_the_rest(app, org):
    live = factories.make_endpoint(org)
    paused = factories.make_endpoint(org, is_active=False)
    disabled = factories.make_endpoint(org, disabled_at=utcnow())
    long_ago = utcnow() - timedelta(minutes=5)
    due = [
        factories.make_delivery(live, status="pending", next_attempt_at=long_ago).id,
        factories.make_delivery(live, status="failed", next_attempt_at=long_ago).id,
        factories.make_delivery(
            paused, status="pending", next_attempt_at=long_ago, next_trigger="manual"
        ).id,
    ]
    for endpoint, fields in (
        (live, {"status": "pending", "next_attempt_at": utcnow()}),
        (live, {"status": "failed", "next_attempt_at": utcnow() + timedelta(minutes=1)}),
        (live, {"status": "pending", "next_attempt_at": long_ago,
                "locked_until": utcnow() + timedelta(minutes=1)}),
        (live, {"status": "delivered", "next_attempt_at": long_ago}),
        (live, {"status": "cancelled", "next_attempt_at": long_ago}),
        (paused, {"status": "pending", "next_attempt_at": long_ago}),
        (disabled, {"status": "failed", "next_attempt_at": long_ago}),
    ):
        factories.make_delivery(endpoint, **fields)

    assert sweep(grace_seconds=60) == 3
    # It queues a job that takes what is due, and what is due is exactly those three.
    assert [job.args[0] for job in app.task_queue.get_jobs()] == [[]]
    overdue = due_work.candidates(10, due_by=utcnow() - timedelta(seconds=60))
    assert sorted(offered.id for offered in overdue) == sorted(due)


def emit(org_id, count):
    ids = []
    for _ in range(count):
        ids += events.ingest(org_id, "scan.completed", {}).delivery_ids
    return ids


def test_after_a_redis_flush_one_sweep_sends_everything(make_app, org, receiver):
    quick = make_app(WEBHOOK_RETRY_DELAYS_QUICK=(60, 60))
    org_id = org.id
    with quick.app_context():
        make_endpoint(org, receiver.url, retryPolicy="quick")
        receiver.queue(500)
        retrying = emit(org_id, 1)
        run_worker(quick)
        sent = emit(org_id, 19)
        run_worker(quick)
        unsent = emit(org_id, 5)
        assert len(receiver.requests) == 20
        assert delivery(retrying[0]).status == "failed"

        quick.redis.flushall()
        run_worker(quick)
        assert len(receiver.requests) == 20

        # Its retry comes due.
        db.session.execute(
            update(Delivery).where(Delivery.id == retrying[0]).values(next_attempt_at=utcnow())
        )
        db.session.commit()
        assert sweep(grace_seconds=0) == 6
        run_worker(quick)

        everything = retrying + sent + unsent
        assert [delivery(i).status for i in everything] == ["delivered"] * 25
    assert len(receiver.requests) == 26
