"""The retention job: registered once under a stable id, run by a real worker."""
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.jobs.scheduling import PERIODIC_JOBS, register_periodic_jobs, scheduler
from app.models import Delivery, utcnow
from tests import factories
from tests.jobs.engine import run_worker


def test_registered_under_a_stable_id_idempotently(app):
    assert ("hookline-retention", "app.jobs.retention.purge_history",
            "WEBHOOK_PURGE_SECONDS") in PERIODIC_JOBS
    target = scheduler()
    register_periodic_jobs(target)
    register_periodic_jobs(target)
    jobs = [job for job in target.get_jobs() if job.id == "hookline-retention"]
    assert len(jobs) == 1
    assert jobs[0].meta["interval"] == app.config["WEBHOOK_PURGE_SECONDS"]


def test_worker_purges_only_history_older_than_the_setting(app, org):
    app.config["WEBHOOK_RETENTION_DAYS"] = 7
    endpoint = factories.make_endpoint(org)
    old = factories.make_delivery(endpoint, created_at=utcnow() - timedelta(days=8))
    factories.make_attempt(old)
    kept = factories.make_delivery(endpoint, created_at=utcnow() - timedelta(days=6))
    kept_id = kept.id
    app.task_queue.enqueue("app.jobs.retention.purge_history")
    run_worker(app)
    assert db.session.execute(select(Delivery.id)).scalars().all() == [kept_id]
