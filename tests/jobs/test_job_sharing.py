"""Delivery jobs are shared: while one waits in the queue, new deliveries need no other."""
from rq import Queue

from app.jobs import deliver as deliver_job
from app.jobs import enqueue
from app.jobs.enqueue import request_drain
from app.jobs.sweeper import sweep
from app.services import dispatch, events
from tests.jobs.engine import delivery, make_endpoint, run_worker


def queued_jobs(app):
    return Queue(app.config["RQ_QUEUE"], connection=app.redis).get_jobs()


def test_events_made_while_a_job_waits_are_sent_by_that_job(app, org, receiver):
    make_endpoint(org, receiver.url)
    org_id = org.id
    ids = [events.ingest(org_id, "scan.completed", {"n": n}).delivery_ids[0] for n in range(5)]

    jobs = queued_jobs(app)
    assert [job.args[0] for job in jobs] == [ids[:1]]

    run_worker(app)

    assert [r.headers["X-Hookline-Delivery"] for r in receiver.wait_for(5)] == ids
    assert [delivery(i).status for i in ids] == ["delivered"] * 5
    # The job has started: the next event gets a job of its own.
    later = events.ingest(org_id, "scan.completed", {"n": 5}).delivery_ids
    assert [job.args[0] for job in queued_jobs(app)] == [later]


def test_the_sweeper_queues_even_while_a_job_waits(app, org, receiver):
    make_endpoint(org, receiver.url)
    org_id = org.id
    first = events.ingest(org_id, "scan.completed", {}).delivery_ids
    second = events.ingest(org_id, "scan.completed", {}).delivery_ids

    assert sweep(grace_seconds=0) == 2

    # The ingest's job, then the sweeper's: a job that takes whatever is due.
    assert [job.args[0] for job in queued_jobs(app)] == [first, []]
    run_worker(app)
    assert {r.headers["X-Hookline-Delivery"] for r in receiver.wait_for(2)} == {*first, *second}


def test_a_job_out_of_time_asks_for_another_and_nothing_is_left_behind(
    app, org, receiver, monkeypatch
):
    monkeypatch.setattr(deliver_job, "DRAIN_SECONDS", 0)
    make_endpoint(org, receiver.url)
    org_id = org.id
    ids = [events.ingest(org_id, "scan.completed", {"n": n}).delivery_ids[0] for n in range(120)]
    app.task_queue.empty()

    # Its own id and one take of due work; time is up with more due, so it leaves a job
    # to take the rest.
    sent = deliver_job.deliver(ids[:1])
    assert 1 < sent <= 1 + dispatch.LANE_MAX
    assert [job.args[0] for job in queued_jobs(app)] == [[]]

    run_worker(app)

    assert len(receiver.wait_for(120)) == 120
    assert {delivery(i).status for i in ids} == {"delivered"}
    assert queued_jobs(app) == []


def test_a_drain_request_while_a_job_waits_adds_nothing(app):
    assert request_drain() == 1
    assert request_drain() == 0
    assert len(queued_jobs(app)) == 1


def test_many_ids_make_a_few_jobs_that_send_them_all(app, org, receiver):
    make_endpoint(org, receiver.url)
    org_id = org.id
    count = enqueue.BATCH_SIZE * enqueue.JOBS_PER_CALL + 30
    ids = [events.ingest(org_id, "scan.completed", {"n": n}).delivery_ids[0]
           for n in range(count)]
    app.task_queue.empty()
    app.redis.delete(enqueue.JOB_WAITING)

    assert enqueue.enqueue_deliveries(ids) == enqueue.JOBS_PER_CALL
    carried = [i for job in queued_jobs(app) for i in job.args[0]]
    assert carried == ids[:enqueue.BATCH_SIZE * enqueue.JOBS_PER_CALL]

    run_worker(app)

    assert len(receiver.wait_for(count)) == count
    assert {delivery(i).status for i in ids} == {"delivered"}
