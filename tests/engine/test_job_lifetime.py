"""How long a delivery job lives, seen from the deliveries it sends.

A job in a long-running worker that finds nothing to do waits a while for more: events that
arrive meanwhile are sent by it, with no job queued for them, and it ends by itself. It stops
waiting as soon as another job waits for the worker, or the worker is asked to stop. Past its
time for taking, a job waiting for a send that hangs goes on sending other endpoints' new
deliveries until that send ends.
"""
import threading
import time

import pytest
from sqlalchemy import update

from app.extensions import db
from app.jobs import enqueue
from app.models import Endpoint, utcnow
from app.services import dispatch
from tests.misbehaving import never_answer
from tests.reliability.harness import wait_until

IDLE_SECONDS = 1.0


@pytest.fixture(autouse=True)
def _process_not_stopping(monkeypatch):
    monkeypatch.setattr(dispatch, "_STOPPING", threading.Event())


def run_in_thread(app, seconds, waiter=None):
    ran = {}

    def run():
        with app.app_context():
            ran["sent"] = dispatch.Dispatcher().run(seconds=seconds, waiter=waiter)
            ran["ended"] = time.monotonic()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    return worker, ran


def waiting(app):
    return app.redis.exists(enqueue.JOB_WAITING)


def test_a_waiting_job_sends_what_arrives_meanwhile_then_ends_by_itself(app, tenant, receiver):
    tenant.create_endpoint(receiver.url + "/hook")
    worker, ran = run_in_thread(app, 60, enqueue.IdleWaiter(IDLE_SECONDS))
    wait_until(lambda: waiting(app), 10, 0.01, "the job to wait for work")

    emitted = []
    for _ in range(3):
        time.sleep(IDLE_SECONDS / 3)
        emitted += tenant.emit()
        receiver.wait_for(len(emitted))
        assert app.task_queue.count == 0, "a job was queued for deliveries the job waits for"
    last = time.monotonic()
    worker.join(30)

    assert not worker.is_alive()
    assert ran["sent"] == 3
    assert [item.delivery_id for item in receiver.requests] == emitted
    assert [tenant.delivery(i)["status"] for i in emitted] == ["delivered"] * 3
    # It ended once idle for its idle time, long before its 60 s of taking were up.
    assert ran["ended"] - last < 10 * IDLE_SECONDS
    # Nobody waits for work any more: the next event's deliveries get a job of their own.
    assert not waiting(app)
    tenant.emit()
    assert app.task_queue.count == 1


def test_a_waiting_job_ends_when_another_job_waits_for_the_worker(app, tenant, receiver):
    tenant.create_endpoint(receiver.url + "/hook")
    worker, _ = run_in_thread(app, 60, enqueue.IdleWaiter(60))
    wait_until(lambda: waiting(app), 10, 0.01, "the job to wait for work")

    app.task_queue.enqueue("app.jobs.retention.purge_history")
    worker.join(10)

    assert not worker.is_alive(), "the job went on waiting with another job in the queue"


def test_a_waiting_job_ends_when_its_worker_is_asked_to_stop(app, tenant, receiver):
    tenant.create_endpoint(receiver.url + "/hook")
    worker, _ = run_in_thread(app, 60, enqueue.IdleWaiter(60))
    wait_until(lambda: waiting(app), 10, 0.01, "the job to wait for work")

    dispatch.stop_taking()
    worker.join(10)

    assert not worker.is_alive(), "the job went on waiting after its worker was told to stop"
    # What arrives now is left to the next worker, in a job of its own.
    tenant.emit()
    assert app.task_queue.count == 1


def test_a_job_without_a_waiter_ends_as_soon_as_nothing_is_due(app, tenant, receiver):
    tenant.create_endpoint(receiver.url + "/hook")
    [delivery_id] = tenant.emit()
    worker, ran = run_in_thread(app, 60)
    worker.join(30)

    assert not worker.is_alive() and ran["sent"] == 1
    assert [item.delivery_id for item in receiver.requests] == [delivery_id]


def test_past_its_time_a_job_waiting_for_a_hanging_send_sends_new_deliveries_meanwhile(
    app, tenant, other_tenant, receiver, servers
):
    timeout = app.config["WEBHOOK_TIMEOUT_SECONDS"]
    dead, also_dead = servers(never_answer(seconds=60)), servers(never_answer(seconds=60))
    tenant.create_endpoint(dead.url)
    other_tenant.create_endpoint(receiver.url + "/hook")
    # An endpoint known to time out: what comes for it then waits for the next job.
    timed_out = other_tenant.create_endpoint(also_dead.url, events=["scan.started"])
    db.session.execute(update(Endpoint).where(Endpoint.id == timed_out)
                       .values(timed_out_at=utcnow()))
    db.session.commit()
    tenant.emit()
    begun = time.monotonic()
    worker, ran = run_in_thread(app, 0.2)
    wait_until(lambda: dead.connections, 10, 0.01, "the send to the dead receiver")
    # The job's time for taking is over and the send has hung for a while.
    time.sleep(1.0)

    [delivery_id] = other_tenant.emit()
    [held] = other_tenant.emit(event_type="scan.started")

    assert receiver.arrives(delivery_id, timeout - (time.monotonic() - begun) - 0.5), (
        "the new delivery waited for the hanging send's deadline"
    )
    worker.join(30)
    assert not worker.is_alive() and ran["sent"] == 2
    assert also_dead.connections == 0
    assert other_tenant.delivery(held)["attemptList"] == []
    # It ended with the hanging send, not later.
    assert ran["ended"] - begun < timeout + 3
