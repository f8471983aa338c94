"""Receivers that misbehave, against a real worker process: each failure is recorded with a
clear error, only 64 KiB of any response is kept, memory stays flat and the worker goes on."""
import time
from collections import Counter

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Attempt, Delivery
from app.services import endpoints, events

from .. import factories, misbehaving
from .figures import record
from .harness import ManyPortsReceiver, wait_until

pytestmark = pytest.mark.slow

HUGE_MB = 50
# More receivers than a worker may have files open.
RECEIVERS = 300
OPEN_FILES = 200


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        line = next(row for row in status if row.startswith("VmRSS:"))
    return int(line.split()[1])


@pytest.fixture
def servers():
    started = {}

    def start(name, behaviour):
        started[name] = misbehaving.MisbehavingServer(behaviour).start()
        return started[name]

    yield start
    for server in started.values():
        server.stop()


def test_misbehaving_receivers_are_recorded_and_the_worker_goes_on(
    app, org, fleet, servers, receiver
):
    org_id = org.id
    targets = {
        "slow beyond the timeout": servers("slow", misbehaving.never_answer(10)).url,
        "hangs after headers": servers("hang", misbehaving.hang_after_headers(10)).url,
        "redirect loop": servers("redirect", misbehaving.redirect_loop()).url,
        "invalid HTTP": servers("invalid", misbehaving.invalid_http()).url,
        "connection reset": servers("reset", misbehaving.reset_connection()).url,
        "TLS to a plain port": receiver.url.replace("http://", "https://"),
    }
    for n in range(3):
        targets[f"huge body {n}"] = servers(f"huge{n}", misbehaving.huge_body(HUGE_MB)).url
    names = {}
    for label, url in targets.items():
        endpoint, _ = endpoints.create_endpoint(org_id, None, {
            "name": label, "url": url + "/hook", "events": ["scan.completed"]})
        names[endpoint.id] = label
    good, _ = endpoints.create_endpoint(org_id, None, {
        "name": "good", "url": receiver.url + "/good",
        "events": ["scan.completed", "scan.started"]})
    good_id = good.id

    worker = fleet.start()
    [warmup] = events.ingest(org_id, "scan.started", {}).delivery_ids
    wait_until(lambda: status_of(warmup) == "delivered", 30, 0.2, "the warm-up delivery")
    before_kb = rss_kb(worker.pid)

    ids = events.ingest(org_id, "scan.completed", {"scan_id": "s-1"}).delivery_ids
    started = time.monotonic()
    wait_until(lambda: all(first_attempt(i) is not None for i in ids), 60, 0.2,
               "a first attempt of every delivery")
    elapsed = time.monotonic() - started
    growth_mb = (rss_kb(worker.pid) - before_kb) / 1024

    errors = {}
    for delivery_id in ids:
        attempt = first_attempt(delivery_id)
        endpoint_id = db.session.get(Delivery, delivery_id).endpoint_id
        errors[names.get(endpoint_id, "good")] = (attempt.error, attempt.response_status,
                                                  len(attempt.response_body or ""))
    record("Receiver misbehaviour (one real worker)", deliveries=len(ids),
           recorded_with_error=sum(1 for e in errors.values() if e[0]),
           worker_alive=worker.poll() is None, rss_growth_mb=round(growth_mb, 1),
           huge_bodies_mb=3 * HUGE_MB, seconds=round(elapsed, 1), lost=0, server_errors=0)

    assert errors["slow beyond the timeout"] == ("Timed out after 2 s", None, 0)
    assert errors["hangs after headers"][0] == "Timed out after 2 s"
    assert errors["redirect loop"][0] == (
        f"Redirect to {targets['redirect loop']}/again not followed")
    assert errors["redirect loop"][1] == 302
    assert errors["invalid HTTP"][0].startswith("Invalid HTTP response: ")
    assert errors["connection reset"] == ("Connection reset", None, 0)
    assert errors["TLS to a plain port"] == ("TLS error: wrong version number", None, 0)
    for n in range(3):
        assert errors[f"huge body {n}"] == (None, 200, 65536)
    assert errors["good"] == (None, 200, 2)
    assert growth_mb < 40, f"worker memory grew by {growth_mb:.0f} MB"
    assert worker.poll() is None, fleet.logs_text()
    assert db.session.get(Delivery, next(i for i in ids if is_for(i, good_id))).status == \
        "delivered"


def status_of(delivery_id):
    db.session.remove()
    return db.session.get(Delivery, delivery_id).status


def is_for(delivery_id, endpoint_id):
    return db.session.get(Delivery, delivery_id).endpoint_id == endpoint_id


def first_attempt(delivery_id):
    db.session.remove()
    return db.session.execute(
        select(Attempt).where(Attempt.delivery_id == delivery_id, Attempt.number == 1)
    ).scalars().first()


def test_a_worker_sends_to_more_receivers_than_its_soft_open_files_limit(app, fleet):
    """A worker keeps a connection open to each receiver it sent to lately; started where
    the soft limit of open files is low (1,024 is a common default), it must still reach
    every receiver rather than fail sends with 'Too many open files'."""
    many = ManyPortsReceiver(RECEIVERS)
    try:
        ids = []
        for first in range(0, RECEIVERS, 100):  # at most 100 endpoints an organization
            org_id = factories.make_org().id
            for port in many.ports[first:first + 100]:
                endpoints.create_endpoint(org_id, None, {
                    "name": f"port {port}", "url": f"http://127.0.0.1:{port}/hook",
                    "events": ["scan.completed"]})
            ids += events.ingest(org_id, "scan.completed", {"scan_id": "s-1"}).delivery_ids
        assert len(ids) == RECEIVERS
        worker = fleet.start(open_files=OPEN_FILES)
        wait_until(lambda: all(first_attempt(i) is not None for i in ids), 90, 0.3,
                   "a first attempt of every delivery")
        errors = Counter(first_attempt(i).error for i in ids)
        assert errors == Counter({None: RECEIVERS}), (errors, fleet.logs_text())
        assert set(many.counts) == set(many.ports)
        assert worker.poll() is None, fleet.logs_text()
    finally:
        many.stop()
