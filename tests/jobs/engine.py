"""Helpers for delivery-engine tests: endpoints on the receiver, running real workers."""
import time

from sqlalchemy import select

from app.extensions import db
from app.jobs.scheduling import scheduler
from app.models import Attempt, Delivery, Endpoint
from app.services import endpoints
from worker import HooklineWorker


def make_endpoint(org, url, events=("scan.completed",), **data):
    """A live endpoint created through the endpoint service; returns (id, secret)."""
    endpoint, secret = endpoints.create_endpoint(
        org.id, None, {"name": "Receiver", "url": url, "events": list(events), **data}
    )
    return endpoint.id, secret


class BurstWorker(HooklineWorker):
    """The production worker without its command channel, whose thread takes a second to
    stop; a burst run in a test has nobody to send it commands."""

    def subscribe(self):
        self.pubsub_thread = None

    def unsubscribe(self):
        pass


def run_worker(app):
    """Run every queued job with the real (non-forking) worker, then return."""
    worker = BurstWorker([app.task_queue], connection=app.redis)
    worker.work(burst=True, logging_level="WARNING")


def run_until(app, done, timeout=15.0):
    """Move due scheduled jobs and run the worker until done() is true (real time)."""
    target = scheduler()
    deadline = time.monotonic() + timeout
    while True:
        target.enqueue_jobs()
        run_worker(app)
        db.session.remove()
        if done():
            return
        if time.monotonic() > deadline:
            raise AssertionError("the deliveries did not settle in time")
        time.sleep(0.1)


def delivery(delivery_id):
    db.session.expire_all()
    return db.session.get(Delivery, delivery_id)


def endpoint_row(endpoint_id):
    db.session.expire_all()
    return db.session.get(Endpoint, endpoint_id)


def attempts_of(delivery_id):
    db.session.expire_all()
    return db.session.execute(
        select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(Attempt.number)
    ).scalars().all()
