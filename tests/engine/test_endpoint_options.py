"""Endpoint options the engine enforces: a rate limit shared by every worker process, and
ordered delivery (one delivery at a time, oldest first)."""
import pytest

from tests.reliability.harness import Fleet, wait_until

from .workers import BackgroundWorker


@pytest.fixture
def fleet(app, database_url, redis_url, tmp_path):
    """Worker processes on the test's database and Redis; stopped before clean-up."""
    started = Fleet(database_url, redis_url, tmp_path)
    yield started
    started.close()


@pytest.mark.slow
def test_a_burst_to_a_rate_limited_endpoint_is_spread_over_time_across_workers(
    app, tenant, receiver, fleet
):
    endpoint_id = tenant.create_endpoint(receiver.url, rateLimit=5)
    sent = tenant.emit(30)
    for _ in range(2):
        fleet.start()

    arrived = receiver.wait_for(30, timeout=60)

    times = sorted(item.received_at for item in arrived)
    # 5 a second with no burst: 29 gaps of 0.2 s, so about 6 s from first to last.
    assert 5.5 <= times[-1] - times[0] <= 9, times[-1] - times[0]
    most_in_a_second = max(
        sum(1 for t in times if start <= t < start + 1.0) for start in times
    )
    assert most_in_a_second <= 6
    # Nothing over the limit was dropped or failed: each delivery was sent once, delivered.
    assert sorted(receiver.per_delivery().values()) == [1] * 30
    wait_until(lambda: all(tenant.delivery(d)["status"] == "delivered" for d in sent), 20,
               what="every delivery recorded delivered")
    assert tenant.endpoint(endpoint_id)["stats"]["failed"] == 0


def test_an_ordered_endpoint_never_sends_out_of_event_order(app, tenant, receiver):
    receiver.fail_first(500)
    tenant.create_endpoint(receiver.url, ordered=True, retryPolicy="quick")
    made = tenant.emit(8)
    workers = [BackgroundWorker(app).start() for _ in range(2)]
    try:
        arrived = receiver.wait_for(16, timeout=60)
    finally:
        assert all(worker.stop() for worker in workers)

    order = [made.index(item.delivery_id) for item in arrived]
    # Each delivery fails once, then succeeds, before the next is tried at all.
    assert order == sorted(order), order
    assert order == [n for n in range(8) for _ in range(2)]
    assert [tenant.delivery(d)["status"] for d in made] == ["delivered"] * 8


def test_an_unordered_endpoint_does_not_wait_for_a_failing_delivery(app, tenant, receiver):
    receiver.fail_first(500)
    tenant.create_endpoint(receiver.url, retryPolicy="standard")
    made = tenant.emit(3)
    workers = [BackgroundWorker(app).start()]
    try:
        arrived = receiver.wait_for(3, timeout=30)
    finally:
        assert all(worker.stop() for worker in workers)
    assert sorted(made.index(item.delivery_id) for item in arrived) == [0, 1, 2]
    assert [tenant.delivery(d)["status"] for d in made] == ["failed"] * 3
