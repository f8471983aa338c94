"""A delivery job in a long-running worker that finds nothing to do waits a while for more:
events that arrive meanwhile are sent by it, not by a job each, and it ends by itself."""
import threading
import time

from app.services import dispatch

IDLE_SECONDS = 1.0


def run_in_thread(app, seconds):
    ran = {}

    def run():
        with app.app_context():
            ran["sent"] = dispatch.Dispatcher().run(seconds=seconds)
            ran["ended"] = time.monotonic()

    worker = threading.Thread(target=run)
    worker.start()
    return worker, ran


def test_a_waiting_job_sends_what_arrives_while_it_waits_then_ends(app, tenant, receiver,
                                                                    monkeypatch):
    monkeypatch.setitem(app.config, "DELIVERY_JOB_IDLE_SECONDS", IDLE_SECONDS)
    tenant.create_endpoint(receiver.url + "/hook")
    worker, ran = run_in_thread(app, seconds=60)

    emitted = []
    for _ in range(3):
        time.sleep(IDLE_SECONDS / 3)  # the job has found nothing and waits
        emitted += tenant.emit()
        receiver.wait_for(len(emitted))
    last = time.monotonic()
    worker.join(30)

    assert not worker.is_alive()
    assert ran["sent"] == 3
    assert [item.delivery_id for item in receiver.requests] == emitted
    # It ended once idle for its idle time, long before its 60 s of taking were up.
    assert ran["ended"] - last < 10 * IDLE_SECONDS
    assert [tenant.delivery(i)["status"] for i in emitted] == ["delivered"] * 3


def test_a_job_without_idle_time_ends_as_soon_as_nothing_is_due(app, tenant, receiver):
    # A burst worker's jobs (tests, one-off runs): the default.
    assert app.config.get("DELIVERY_JOB_IDLE_SECONDS", 0.0) == 0.0
    tenant.create_endpoint(receiver.url + "/hook")
    [delivery_id] = tenant.emit()
    worker, ran = run_in_thread(app, seconds=60)
    worker.join(30)

    assert not worker.is_alive() and ran["sent"] == 1
    assert [item.delivery_id for item in receiver.requests] == [delivery_id]
