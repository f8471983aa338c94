"""Issue 13, scenario 4: workers killed after claiming a delivery, before sending it, burn
none of its attempts. The first request that is really sent is attempt 1."""
import importlib
from datetime import timedelta

import pytest
from freezegun import freeze_time

from app.models import utcnow

from .workers import drain


@pytest.fixture
def config_overrides():
    """Retries seconds apart: the one real send is the only request the test sees."""
    return {"WEBHOOK_RETRY_DELAYS_QUICK": (2, 4)}


def claim(delivery_ids):
    """The engine's claim, wherever it lives (it moves to services.delivery_state)."""
    for name in ("app.services.delivery_state", "app.services.deliveries"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "claim"):
            return module.claim(delivery_ids)
    raise AssertionError("no claim function in the delivery services")


@pytest.mark.parametrize("policy", ["quick", "standard"])
def test_claims_of_killed_workers_burn_no_attempts(app, tenant, receiver, policy):
    # Every attempt but the last lost to a killed worker (a policy makes one attempt more
    # than it has delays): counted at claim time, the first real send would be the last.
    lost = len(app.config[f"WEBHOOK_RETRY_DELAYS_{policy.upper()}"])
    receiver.answer(500)
    started = utcnow() - timedelta(hours=1)
    with freeze_time(started):
        endpoint_id = tenant.create_endpoint(receiver.url, retryPolicy=policy)
        [delivery_id] = tenant.emit()
    for n in range(lost):
        # Each claim's lease has long lapsed when the next worker comes: minutes apart.
        with freeze_time(started + timedelta(minutes=5 * (n + 1))):
            assert claim([delivery_id]), "the claim took nothing"
    assert receiver.requests == []

    drain(app)  # a live worker takes the delivery's job; the receiver answers 500

    assert receiver.sent(delivery_id) == 1
    shown = tenant.delivery(delivery_id)
    assert [(a["number"], a["responseStatus"]) for a in shown["attemptList"]] == [(1, 500)]
    assert (shown["status"], shown["attempts"]) == ("failed", 1)
    assert shown["nextAttemptAt"] is not None
    webhook = tenant.endpoint(endpoint_id)
    assert (webhook["status"], webhook["disabledAt"]) == ("failing", None)
