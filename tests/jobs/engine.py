"""Helpers for delivery-engine tests: endpoints on the receiver, running real workers."""
import threading
import time
from contextlib import contextmanager

from rq.timeouts import TimerDeathPenalty
from sqlalchemy import select

from app.extensions import db
from app.jobs.scheduling import scheduler
from app.models import Attempt, Delivery, Endpoint
from app.services import endpoints
from app.services.dispatch import Dispatcher
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


class ThreadWorker(BurstWorker):
    """The production worker, run in a thread of the test process (signals belong to the
    main thread, so job timeouts use a timer)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        pass


@contextmanager
def worker_running(app):
    """A real worker taking jobs in a background thread while the test acts."""
    stop = threading.Event()

    def work():
        with app.app_context():
            worker = ThreadWorker([app.task_queue], connection=app.redis)
            while not stop.is_set():
                worker.work(burst=True, logging_level="WARNING")
                db.session.remove()
                stop.wait(0.05)

    thread = threading.Thread(target=work, name="test-worker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


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


def attempt_now(delivery_id):
    """Claim, send and record one attempt of this delivery in this process, as a delivery job
    does; returns the attempt recorded, or None when there was nothing to claim."""
    if not attempt_each([delivery_id]):
        return None
    return attempts_of(delivery_id)[-1]


def attempt_each(delivery_ids):
    """One attempt for each of these deliveries that can be claimed, and nothing else;
    returns how many."""
    return Dispatcher().run(delivery_ids, seconds=None)
