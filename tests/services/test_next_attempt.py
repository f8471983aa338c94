"""The next attempt of a delivery and why it is then, in every state a delivery can be in."""
from datetime import UTC, datetime, timedelta

import pytest

from app.services.next_attempt import explain
from tests import factories

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def endpoint(org):
    return factories.make_endpoint(org, "Receiver")


def test_final_states_have_no_next_attempt(endpoint):
    delivered = factories.make_delivery(endpoint, "delivered", attempt_count=1)
    assert explain(delivered, endpoint, NOW).kind == "delivered"
    assert explain(delivered, endpoint, NOW).at is None
    exhausted = factories.make_delivery(endpoint, "exhausted", attempt_count=5,
                                        next_trigger="retry")
    found = explain(exhausted, endpoint, NOW)
    assert (found.kind, found.at) == ("exhausted", None)
    assert "5 attempts failed" in found.reason and "Retry" in found.reason
    test = factories.make_delivery(endpoint, "exhausted", attempt_count=1, next_trigger="test")
    assert explain(test, endpoint, NOW).reason == "A test send makes one attempt and is not " \
                                                  "retried."
    cancelled = factories.make_delivery(endpoint, "cancelled")
    assert "never attempted again" in explain(cancelled, endpoint, NOW).reason


def test_policy_delay_says_which_attempt_and_when(org, endpoint):
    due = NOW + timedelta(minutes=5)
    delivery = factories.make_delivery(endpoint, "failed", attempt_count=2, next_attempt_at=due,
                                       next_trigger="retry")
    found = explain(delivery, endpoint, NOW)
    assert found.kind == "scheduled" and found.at == due and found.waiting
    assert found.reason == ("Attempt 3 of 5: the standard retry policy waits 5 min after "
                            "attempt 2.")
    quick = factories.make_endpoint(org, retry_policy="quick")
    first_retry = factories.make_delivery(quick, "failed", attempt_count=1,
                                          next_attempt_at=NOW + timedelta(seconds=2))
    assert explain(first_retry, quick, NOW).reason == (
        "Attempt 2 of 3: the quick retry policy waits 2 s after attempt 1.")


def test_an_overdue_retry_is_due_not_in_the_past(endpoint):
    delivery = factories.make_delivery(endpoint, "failed", attempt_count=1,
                                       next_attempt_at=NOW - timedelta(minutes=3))
    found = explain(delivery, endpoint, NOW)
    assert found.kind == "due"
    assert found.reason.startswith("Attempt 2 of 5 is due and waiting for a worker")


def test_paused_and_disabled_endpoints_hold_automatic_attempts_without_a_time(endpoint):
    delivery = factories.make_delivery(endpoint, "failed", attempt_count=1,
                                       next_attempt_at=NOW - timedelta(hours=1))
    endpoint.is_active = False
    found = explain(delivery, endpoint, NOW)
    assert (found.kind, found.at, found.waiting) == ("held_paused", None, False)
    assert found.reason == ("Held: the endpoint is paused. It is sent when someone resumes "
                            "the endpoint.")
    endpoint.disabled_reason = "Paused automatically after 10 consecutive failed attempts"
    assert "(Paused automatically after 10" in explain(delivery, endpoint, NOW).reason
    endpoint.is_active = True
    endpoint.disabled_at = NOW - timedelta(days=1)
    endpoint.disabled_reason = "Disabled automatically: a delivery failed all 5 attempts"
    found = explain(delivery, endpoint, NOW)
    assert (found.kind, found.at) == ("held_disabled", None)
    assert found.reason.startswith("Held: the endpoint is disabled (Disabled automatically")
    pending = factories.make_delivery(endpoint, "pending", next_attempt_at=NOW)
    assert explain(pending, endpoint, NOW).kind == "held_disabled"


def test_a_manual_retry_on_a_paused_endpoint_is_not_held(endpoint):
    endpoint.is_active = False
    delivery = factories.make_delivery(endpoint, "pending", attempt_count=5, next_attempt_at=NOW,
                                       next_trigger="manual")
    found = explain(delivery, endpoint, NOW)
    assert found.kind == "requested" and found.at == NOW


def test_a_live_claim_means_sending_now_and_an_expired_one_does_not(endpoint):
    delivery = factories.make_delivery(endpoint, "pending", next_attempt_at=NOW,
                                       locked_until=NOW + timedelta(seconds=20))
    assert explain(delivery, endpoint, NOW).kind == "sending"
    delivery.locked_until = NOW - timedelta(seconds=1)
    found = explain(delivery, endpoint, NOW)
    assert found.kind == "queued" and found.reason.startswith("Queued: the first attempt")


def test_a_deleted_endpoint_sends_nothing(endpoint):
    delivery = factories.make_delivery(endpoint, "failed", attempt_count=1, next_attempt_at=NOW)
    endpoint.deleted_at = NOW
    assert explain(delivery, endpoint, NOW).kind == "deleted"


def test_a_410_gone_says_the_receiver_asked_to_stop(endpoint):
    gone = factories.make_delivery(endpoint, "exhausted", attempt_count=1, last_status_code=410)
    found = explain(gone, endpoint, NOW)
    assert found.kind == "gone" and "410 Gone" in found.reason and found.at is None


def test_a_receivers_retry_after_is_named_beside_the_policy_delay(endpoint):
    due = NOW + timedelta(minutes=10)
    delivery = factories.make_delivery(endpoint, "failed", attempt_count=1, next_attempt_at=due)
    throttled = factories.make_attempt(delivery, number=1, started_at=NOW, response_status=429,
                                       response_headers={"Retry-After": "600"})
    found = explain(delivery, endpoint, NOW, last_attempt=throttled)
    assert (found.kind, found.at) == ("scheduled", due)
    assert found.reason == ("Attempt 2 of 5: the receiver answered 429 with Retry-After: 600 "
                            "(the standard retry policy alone would wait 1 min).")
    plain = factories.make_attempt(delivery, number=1, started_at=NOW, response_status=500,
                                   response_headers={"Retry-After": "600"})
    assert "policy waits 1 min" in explain(delivery, endpoint, NOW, last_attempt=plain).reason


def test_an_ordered_endpoint_sends_the_earlier_delivery_first(endpoint):
    endpoint.ordered = True
    first = factories.make_delivery(endpoint, "failed", attempt_count=1,
                                    created_at=NOW - timedelta(minutes=2),
                                    next_attempt_at=NOW + timedelta(minutes=1))
    second = factories.make_delivery(endpoint, "pending", created_at=NOW - timedelta(minutes=1),
                                     next_attempt_at=NOW - timedelta(minutes=1))
    found = explain(second, endpoint, NOW)
    assert (found.kind, found.at, found.waiting) == ("ordered", None, True)
    assert found.reason.startswith("Waiting for an earlier delivery")
    assert explain(first, endpoint, NOW).kind == "scheduled"
    first.status = "delivered"
    from app.extensions import db

    db.session.commit()
    assert explain(second, endpoint, NOW).kind == "queued"


def test_a_rate_limited_endpoint_says_deliveries_wait_their_turn(endpoint):
    endpoint.rate_limit = 5
    delivery = factories.make_delivery(endpoint, "pending", next_attempt_at=NOW)
    found = explain(delivery, endpoint, NOW)
    assert found.kind == "queued"
    assert found.reason.endswith("This endpoint takes at most 5 deliveries a second: over "
                                 "that, a delivery waits its turn.")
