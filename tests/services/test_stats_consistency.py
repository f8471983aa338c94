"""Statistics kept as counters equal a direct count over the attempt history."""
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Attempt
from app.services import deliveries, events
from tests.jobs.engine import delivery, endpoint_row, make_endpoint, run_until


@pytest.fixture
def config_overrides():
    return {"WEBHOOK_RETRY_DELAYS_QUICK": (0, 0), "WEBHOOK_QUICK_PAUSE_AFTER": 50}


def emit_and_settle(app, org_id):
    [delivery_id] = events.ingest(org_id, "scan.completed", {}).delivery_ids
    run_until(app, lambda: delivery(delivery_id).status in ("delivered", "exhausted"))
    return delivery_id


def direct_figures(endpoint_id):
    """What the history says, counted the slow way."""
    attempts = db.session.execute(
        select(Attempt).where(Attempt.endpoint_id == endpoint_id)
        .order_by(Attempt.started_at, Attempt.id)
    ).scalars().all()
    streak = 0
    for attempt in attempts:
        streak = 0 if attempt.succeeded else streak + 1
    daily = {}
    for attempt in attempts:
        day = attempt.started_at.astimezone(UTC).date().isoformat()
        ok, failed = daily.get(day, (0, 0))
        daily[day] = (ok + attempt.succeeded, failed + (not attempt.succeeded))
    successful = sum(a.succeeded for a in attempts)
    return {
        "total": len(attempts),
        "successful": successful,
        "failed": len(attempts) - successful,
        "consecutiveFailures": streak,
        "lastTriggeredAt": max(a.started_at for a in attempts),
        "daily": daily,
    }


def test_counters_match_the_history_for_a_mixed_scenario(app, api, org, receiver):
    endpoint_id, _ = make_endpoint(org, receiver.url, retryPolicy="quick")
    org_id = org.id
    receiver.queue(200)                       # success at once
    emit_and_settle(app, org_id)
    receiver.queue(500, 200)                  # a failure, then a retry that succeeds
    emit_and_settle(app, org_id)
    receiver.queue(500, 503, 500)             # exhausted after three attempts
    exhausted = emit_and_settle(app, org_id)
    receiver.queue(500)                       # a manual retry that fails again
    deliveries.request_attempts(org_id, [exhausted], "manual")
    run_until(app, lambda: delivery(exhausted).attempt_count == 4
              and delivery(exhausted).status == "exhausted")
    receiver.queue(200)                       # a manual retry that succeeds
    deliveries.request_attempts(org_id, [exhausted], "manual")
    run_until(app, lambda: delivery(exhausted).status == "delivered")
    receiver.queue(500, 500, 500)             # a new streak of three failures
    emit_and_settle(app, org_id)
    receiver.wait_for(11)

    expected = direct_figures(endpoint_id)
    assert (expected["total"], expected["successful"], expected["consecutiveFailures"]) == (
        11, 3, 3)
    endpoint = endpoint_row(endpoint_id)
    assert (endpoint.total_attempts, endpoint.successful_attempts, endpoint.failed_attempts,
            endpoint.consecutive_failures) == (
        expected["total"], expected["successful"], expected["failed"],
        expected["consecutiveFailures"])
    # Recorded when the last attempt finished: its start plus its (short) duration.
    last_started = expected["lastTriggeredAt"]
    assert last_started <= endpoint.last_attempt_at <= last_started + timedelta(seconds=2)

    stats = api.get(f"/webhooks/{endpoint_id}/stats").get_json()
    assert {k: stats[k] for k in ("total", "successful", "failed", "consecutiveFailures")} == {
        k: expected[k] for k in ("total", "successful", "failed", "consecutiveFailures")}
    assert stats["successRate"] == pytest.approx(3 / 11, abs=1e-4)
    charted = {d["date"]: (d["successful"], d["failed"]) for d in stats["daily"]
               if d["successful"] or d["failed"]}
    assert charted == expected["daily"]
