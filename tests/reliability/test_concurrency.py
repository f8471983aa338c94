"""Two workers recording batches for many endpoints at once: no job fails (no deadlock),
every delivery is delivered once, and the counters agree with the attempts."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attempt, Endpoint
from app.services import endpoints, events

from .figures import record
from .harness import all_final, tally, wait_until

pytestmark = pytest.mark.slow

ENDPOINTS = 12
EVENTS = 25


def test_concurrent_workers_never_fail_a_job_and_counters_agree(app, org, fleet,
                                                                 counting_receiver):
    org_id = org.id
    for n in range(ENDPOINTS):
        endpoints.create_endpoint(org_id, None, {
            "name": f"Receiver {n}", "url": counting_receiver.url, "events": ["scan.completed"]})
    workers = [fleet.start(), fleet.start(), fleet.start()]
    ids = []
    for n in range(EVENTS):
        ids += events.ingest(org_id, "scan.completed", {"scan_id": f"s-{n}"}).delivery_ids
    wait_until(lambda: all_final(ids), 90, 0.5, "every delivery to reach a final state")
    figures = tally(ids, counting_receiver)
    logs = fleet.logs_text()
    failed_jobs = logs.count("Traceback")
    db.session.remove()
    attempts = db.session.execute(select(func.count(Attempt.id))).scalar_one()
    counted = int(db.session.execute(select(func.sum(Endpoint.total_attempts))).scalar_one())
    record("Three workers, many endpoints at once", deliveries=len(ids), lost=figures["lost"],
           duplicates=figures["duplicates"], failed_jobs=failed_jobs,
           attempts=attempts, counted_attempts=counted)
    assert "deadlock" not in logs.lower()
    assert failed_jobs == 0, logs
    assert figures["lost"] == 0 and figures["duplicates"] == 0, figures
    assert attempts == counted == len(ids)
    assert all(worker.poll() is None for worker in workers)
