"""Faults with real processes: a killed worker, a stopped Redis, the scheduler running retries."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.embedded_redis import EmbeddedRedis
from app.extensions import db
from app.jobs.sweeper import sweep
from app.models import Delivery, utcnow
from app.services import dispatch, events
from tests.jobs.engine import make_endpoint, run_worker

ROOT = Path(__file__).resolve().parents[2]
FINAL = ("delivered", "exhausted", "cancelled")

pytestmark = pytest.mark.slow


@pytest.fixture
def processes(database_url, private_redis):
    """Start `python worker.py [scheduler]` on the test database and the private Redis."""
    started = []

    def start(*args, **settings):
        env = {
            **os.environ,
            "HOOKLINE_ENV": "development",
            "DATABASE_URL": database_url,
            "REDIS_URL": private_redis.url,
            "SECRET_KEY": "test-secret-key",
            "WEBHOOK_ALLOW_HTTP": "1",
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
            "WEBHOOK_TIMEOUT_SECONDS": "1",
            **{key: str(value) for key, value in settings.items()},
        }
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py"), *args], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def count_by_status():
    db.session.expire_all()
    return dict(
        db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )


def leased():
    """Deliveries a worker has claimed and not yet recorded."""
    db.session.expire_all()
    return db.session.execute(
        select(func.count()).where(Delivery.locked_until > utcnow())
    ).scalar_one()


def wait_until(check, timeout=20.0, step=0.1):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)


def test_a_worker_killed_mid_run_loses_nothing(make_app, private_redis, processes, org, receiver):
    app = make_app(REDIS_URL=private_redis.url, WEBHOOK_TIMEOUT_SECONDS=1)
    receiver.answer(200, delay=0.05)
    org_id = org.id
    with app.app_context():
        make_endpoint(org, receiver.url)
        ids = []
        for _ in range(40):
            ids += events.ingest(org_id, "scan.completed", {}).delivery_ids
        worker = processes()
        receiver.wait_for(5)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        sent_before_restart = len(receiver.requests)
        assert sent_before_restart < 40

        processes()
        wait_until(lambda: app.task_queue.count == 0 and not leased())
        # What the killed worker held or had taken from the queue is due with no job left:
        # one sweep queues it again.
        waiting = count_by_status().get("pending", 0)
        assert sweep(grace_seconds=0) == waiting
        wait_until(lambda: count_by_status() == {"delivered": 40})

    delivered_ids = {r.headers["X-Hookline-Delivery"] for r in receiver.requests}
    assert delivered_ids == set(ids)
    # At least once: what the killed worker sent but had not recorded (one group and the
    # sends in flight) may go out again.
    unrecorded = dispatch.RECORD_GROUP + app.config["WEBHOOK_SEND_CONCURRENCY"]
    assert len(receiver.requests) <= 40 + unrecorded


def test_with_redis_stopped_events_are_accepted_and_sent_once_it_is_back(
    make_app, private_redis, org, token, receiver
):
    app = make_app(REDIS_URL=private_redis.url)
    org_id = org.id
    with app.app_context():
        make_endpoint(org, receiver.url)
        private_redis.kill()
        client = app.test_client()
        response = client.post(
            "/api/sch/org/events",
            json={"eventType": "scan.completed", "data": {"scan_id": "s-1", "n": 1}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 202
        assert response.json["deliveries"] == 1
        assert count_by_status() == {"pending": 1}

        restarted = EmbeddedRedis(port=private_redis.port).start()
        try:
            assert sweep(grace_seconds=0) == 1
            run_worker(app)
        finally:
            restarted.stop()

        assert count_by_status() == {"delivered": 1}
    sent = receiver.wait_for(1)[0]
    assert sent.json()["data"] == {"company": org_id, "scan_id": "s-1", "n": 1}


def test_worker_and_scheduler_processes_run_retries_on_time(
    make_app, private_redis, processes, org, receiver
):
    app = make_app(REDIS_URL=private_redis.url)
    receiver.queue(500, 500, 200)
    org_id = org.id
    with app.app_context():
        make_endpoint(org, receiver.url, retryPolicy="quick")
        processes(WEBHOOK_RETRY_DELAYS_QUICK="1,1")
        processes("scheduler", WEBHOOK_RETRY_DELAYS_QUICK="1,1")
        [delivery_id] = events.ingest(org_id, "scan.completed", {}).delivery_ids
        wait_until(lambda: count_by_status() == {"delivered": 1})

    got = receiver.wait_for(3)
    assert {r.headers["X-Hookline-Delivery"] for r in got} == {delivery_id}
    gaps = [got[n + 1].received_at - got[n].received_at for n in range(len(got) - 1)]
    assert all(1.0 <= gap < 3.0 for gap in gaps), gaps
