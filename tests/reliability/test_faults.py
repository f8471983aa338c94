"""Faults during a burst: nothing is lost, duplicates stay bounded, /healthz tells the truth."""
import signal
import sqlite3
import threading
import time
from urllib.parse import urlsplit

import pytest

from app.services import endpoints, events

from .figures import record
from .harness import (
    TcpProxy,
    all_final,
    attempt_count,
    in_flight,
    tally,
    wait_until,
)

pytestmark = pytest.mark.slow

ENDPOINTS = 3


def subscribe(org_id, url, count=ENDPOINTS):
    for n in range(count):
        endpoints.create_endpoint(
            org_id, None, {"name": f"Receiver {n}", "url": url, "events": ["scan.completed"]}
        )


def emit(org_id, events_count):
    """Emit events; returns the ids of the deliveries they created."""
    ids = []
    for n in range(events_count):
        ids += events.ingest(org_id, "scan.completed", {"scan_id": f"s-{n}"}).delivery_ids
    return ids


def two_workers_and_a_scheduler(fleet):
    """Start them; returns the first worker."""
    first = fleet.start()
    fleet.start()
    fleet.start("scheduler")
    return first


def settle(fleet, delivery_ids, timeout):
    try:
        wait_until(lambda: all_final(delivery_ids), timeout, interval=0.5,
                   what="every delivery to reach a final state")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{fleet.logs_text()}") from None


def test_sigkill_of_a_worker_mid_burst_loses_nothing(app, org, fleet, counting_receiver):
    counting_receiver.delay = 0.03
    org_id = org.id
    subscribe(org_id, counting_receiver.url)
    doomed = two_workers_and_a_scheduler(fleet)
    ids = emit(org_id, 100)

    wait_until(lambda: counting_receiver.requests >= 60, 30, 0.02, "the burst to be under way")
    flying = in_flight()
    fleet.kill(doomed)
    killed_at = time.monotonic()

    settle(fleet, ids, 90)
    figures = tally(ids, counting_receiver)
    record("SIGKILL a worker mid-burst", deliveries=len(ids), lost=figures["lost"],
           duplicates=figures["duplicates"], in_flight_at_fault=flying,
           recovery_seconds=round(time.monotonic() - killed_at, 1))
    assert figures["lost"] == 0, figures
    assert figures["statuses"] == {"delivered": len(ids)}
    assert figures["duplicates"] <= flying
    assert figures["recorded_twice"] == 0, figures
    assert len(fleet.alive()) == 2


def test_a_worker_told_to_stop_mid_stream_stops_taking_and_sends_nothing_twice(
    app, org, fleet, counting_receiver
):
    counting_receiver.delay = 0.01
    org_id = org.id
    subscribe(org_id, counting_receiver.url)
    stopping = two_workers_and_a_scheduler(fleet)
    ids, done = [], threading.Event()

    def stream():  # 20 events a second, as from a busy platform
        with app.app_context():
            while not done.is_set():
                ids.extend(emit(org_id, 1))
                time.sleep(0.05)

    streamer = threading.Thread(target=stream)
    streamer.start()
    try:
        wait_until(lambda: counting_receiver.requests >= 30, 30, 0.02, "the stream to flow")
        stopping.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        # Its job sends what it holds and returns, though new deliveries keep coming.
        stopping.wait(30)
        stopped_after = time.monotonic() - signalled
        time.sleep(1)
    finally:
        done.set()
        streamer.join()

    settle(fleet, ids, 60)
    figures = tally(ids, counting_receiver)
    record("SIGTERM to a worker mid-stream", deliveries=len(ids), lost=figures["lost"],
           duplicates=figures["duplicates"], stopped_after_seconds=round(stopped_after, 1))
    assert stopping.returncode == 0, fleet.logs_text()
    assert stopped_after < 5, f"the worker went on taking for {stopped_after:.1f} s"
    assert figures["lost"] == 0, figures
    assert figures["statuses"] == {"delivered": len(ids)}
    assert figures["duplicates"] == 0 and figures["recorded_twice"] == 0, figures


def healthz(client):
    response = client.get("/healthz")
    return response.status_code, response.get_json()["checks"]


def test_redis_killed_mid_burst_and_started_again_empty(
    app, org, fleet, counting_receiver, private_redis, api, client
):
    counting_receiver.delay = 0.03
    org_id = org.id
    subscribe(org_id, counting_receiver.url)
    two_workers_and_a_scheduler(fleet)
    ids = emit(org_id, 100)

    wait_until(lambda: counting_receiver.requests >= 60, 30, 0.02, "the burst to be under way")
    flying = in_flight()
    private_redis.kill()
    down_at = time.monotonic()
    try:
        status, checks = healthz(client)
        # The platform keeps emitting while Redis is down: accepted, stored, sent later.
        accepted = [api.post("/events", json={"eventType": "scan.completed",
                                              "data": {"scan_id": f"outage-{n}"}})
                    for n in range(10)]
        time.sleep(3)
        outage_status, _ = healthz(client)
    finally:
        private_redis.start()
    assert status == 503 and checks["redis"].startswith("error"), checks
    assert checks["database"] == "ok"
    assert [(r.status_code, r.get_json()["deliveries"]) for r in accepted] == [(202, 3)] * 10
    ids += outage_ids(org_id, 10 * ENDPOINTS)
    assert healthz(client)[0] == 200

    settle(fleet, ids, 90)
    figures = tally(ids, counting_receiver)
    record("Redis killed mid-burst, started again empty", deliveries=len(ids),
           lost=figures["lost"], duplicates=figures["duplicates"], in_flight_at_fault=flying,
           healthz_during_outage=outage_status,
           recovery_seconds=round(time.monotonic() - down_at, 1))
    assert outage_status == 503
    assert figures["lost"] == 0, figures
    assert figures["statuses"] == {"delivered": len(ids)}
    assert figures["duplicates"] <= flying
    assert figures["recorded_twice"] == 0, figures
    assert len(fleet.alive()) == 3, fleet.logs_text()


def outage_ids(org_id, count):
    """The ids of the last `count` deliveries created for the organization."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Delivery

    db.session.remove()
    return list(db.session.execute(
        select(Delivery.id).where(Delivery.org_id == org_id)
        .order_by(Delivery.created_at.desc()).limit(count)
    ).scalars())


def test_scheduler_stopped_for_a_while_then_retries_resume(
    app, org, fleet, counting_receiver, client
):
    """Every first attempt fails; the retries wait while the scheduler is down.

    The first retry comes 5 s after the failure: by then the jobs have run out of due work
    (a job keeps going while anything is due), so only the scheduler can start the retries.
    """
    counting_receiver.failures = 1
    org_id = org.id
    subscribe(org_id, counting_receiver.url)
    fleet.start(WEBHOOK_RETRY_DELAYS_STANDARD="5,1,1,1")
    scheduler = fleet.start("scheduler", WEBHOOK_RETRY_DELAYS_STANDARD="5,1,1,1")
    ids = emit(org_id, 40)

    wait_until(lambda: counting_receiver.requests >= len(ids), 30, 0.05,
               "every first attempt")
    flying = in_flight()
    fleet.kill(scheduler)
    down_at = time.monotonic()

    def due_not_enqueued():
        text = client.get("/metrics").get_data(as_text=True)
        line = next(row for row in text.splitlines()
                    if row.startswith("hookline_deliveries_due_not_enqueued"))
        return float(line.split()[-1])

    reported = wait_until(due_not_enqueued, 15, 0.5, "/metrics to report waiting retries")
    # Retries the scheduler queued before it stopped may still run; then nothing moves.
    wait_until(lambda: app.task_queue.count == 0, 15, 0.2, "the queue to drain")
    time.sleep(1)
    before = counting_receiver.requests
    time.sleep(2)
    stalled = counting_receiver.requests - before
    fleet.start("scheduler")

    settle(fleet, ids, 60)
    figures = tally(ids, counting_receiver)
    record("Scheduler stopped for a while", deliveries=len(ids), lost=figures["lost"],
           duplicates=figures["duplicates"], in_flight_at_fault=flying,
           due_not_enqueued_reported=int(reported), sent_while_stopped=stalled,
           recovery_seconds=round(time.monotonic() - down_at, 1))
    assert stalled == 0
    assert figures["lost"] == 0, figures
    assert figures["statuses"] == {"delivered": len(ids)}
    assert figures["duplicates"] <= flying
    assert figures["recorded_twice"] == 0, figures
    assert due_not_enqueued() == 0


def test_database_unreachable_for_the_worker(
    app, org, fleet, counting_receiver, database_url, make_app, private_redis
):
    counting_receiver.delay = 0.03
    org_id = org.id
    subscribe(org_id, counting_receiver.url)
    postgres = database_url.startswith("postgres")
    proxy = None
    worker_url = database_url
    if postgres:
        parts = urlsplit(database_url)
        proxy = TcpProxy(parts.hostname, parts.port or 5432).start()
        credentials, at, _ = parts.netloc.rpartition("@")
        worker_url = parts._replace(netloc=f"{credentials}{at}127.0.0.1:{proxy.port}").geturl()
        fleet.database_url = worker_url
        watcher = make_app(SQLALCHEMY_DATABASE_URI=worker_url.replace(
            "postgresql://", "postgresql+psycopg://", 1), REDIS_URL=private_redis.url)
    two_workers_and_a_scheduler(fleet)
    ids = emit(org_id, 100)
    wait_until(lambda: counting_receiver.requests >= 60, 30, 0.02, "the burst to be under way")

    flying = in_flight()
    down_at = time.monotonic()
    outage_health = None
    if postgres:
        proxy.stop()
        time.sleep(0.5)
        recorded = attempt_count()
        outage_health = watcher.test_client().get("/healthz")
        outage_health = (outage_health.status_code,
                         outage_health.get_json()["checks"]["database"])
        time.sleep(3)
        stalled = attempt_count() - recorded
        proxy.start()
        assert watcher.test_client().get("/healthz").status_code == 200
    else:
        lock = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            lock.execute("BEGIN EXCLUSIVE")
            recorded = lock.execute("SELECT count(*) FROM attempts").fetchone()[0]
            time.sleep(4)
            stalled = lock.execute("SELECT count(*) FROM attempts").fetchone()[0] - recorded
            lock.execute("COMMIT")
        finally:
            lock.close()

    settle(fleet, ids, 90)
    figures = tally(ids, counting_receiver)
    record("Database unreachable for the worker", deliveries=len(ids), lost=figures["lost"],
           duplicates=figures["duplicates"], in_flight_at_fault=flying,
           attempts_recorded_during_outage=stalled,
           healthz_during_outage=outage_health[0] if outage_health else "n/a (SQLite lock)",
           recovery_seconds=round(time.monotonic() - down_at, 1))
    if proxy:
        proxy.stop()
        assert outage_health[0] == 503 and outage_health[1].startswith("error")
    assert stalled == 0
    assert figures["lost"] == 0, figures
    assert figures["statuses"] == {"delivered": len(ids)}
    assert figures["duplicates"] <= flying
    assert figures["recorded_twice"] == 0, figures
    assert len(fleet.alive()) == 3, fleet.logs_text()
