"""Issue 13, scenario 6: one organization's backlog, to a receiver that never answers or
to a slow one, does not hold up another organization's delivery.

A's events keep coming while B's arrives (A emits one more just before B), as in a real
flood: B's delivery then gets no job of its own and is found, or not, by the workers'
choice of due work."""
import time

import pytest

from tests.misbehaving import never_answer
from tests.reliability.harness import wait_until

TIMEOUT = 2
# B's delivery waits at most for sends already under way to reach their deadline, then
# goes in the next batch.
LIMIT = 2 * TIMEOUT + 2
# What "about one batch" of the flooding organization's sends may come first.
ONE_BATCH = 50

pytestmark = pytest.mark.slow


@pytest.fixture
def config_overrides():
    return {"WEBHOOK_TIMEOUT_SECONDS": TIMEOUT}


def test_a_dead_receivers_backlog_does_not_starve_another_organization(
    tenant, other_tenant, receiver, servers, background_worker
):
    dead = servers(never_answer(seconds=60))
    tenant.create_endpoint(dead.url)
    tenant.emit(120)
    other_tenant.create_endpoint(receiver.url)
    background_worker()
    wait_until(lambda: dead.connections, 15, 0.01, "A's backlog to be worked on")

    tenant.emit()
    [delivery_id] = other_tenant.emit()

    assert receiver.arrives(delivery_id, LIMIT), (
        f"B's delivery had not arrived after {LIMIT} s; meanwhile A's dead endpoint got "
        f"{dead.connections} sends of its 121"
    )


def test_a_flood_to_a_slow_receiver_delays_another_organization_by_a_batch_at_most(
    tenant, other_tenant, receivers, background_worker
):
    slow, healthy = receivers(), receivers()
    slow.answer(200, delay=0.1)
    tenant.create_endpoint(slow.url)
    tenant.emit(400)
    other_tenant.create_endpoint(healthy.url)
    background_worker()
    slow.wait_for(1)

    tenant.emit()
    [delivery_id] = other_tenant.emit()
    before, given_up = len(slow.requests), time.monotonic() + 60
    while True:
        arrived = healthy.arrives(delivery_id, 0.05)
        sends_of_a = len(slow.requests) - before
        assert sends_of_a <= ONE_BATCH, (
            f"B's one delivery was still waiting after A's flood got {sends_of_a} sends in"
        )
        if arrived:
            break
        assert time.monotonic() < given_up, "B's delivery was never sent"
