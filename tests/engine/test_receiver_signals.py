"""What a receiver says about itself: 410 Gone stops its endpoint for good, Retry-After sets
when the next attempt comes, and the organization hears when Hookline stops an endpoint."""
from datetime import datetime, timedelta
from email.utils import format_datetime

import pytest

from app.models import utcnow
from tests.receiver import Receiver, Reply

from .workers import drain, run_due_work


@pytest.fixture
def answering():
    """answering() starts a plain receiver that can answer with any headers."""
    started = []

    def start():
        started.append(Receiver().start())
        return started[-1]

    yield start
    for server in started:
        server.stop()


def moment(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_410_gone_disables_the_endpoint_at_once_and_the_organization_hears_of_it(
    app, tenant, answering
):
    gone, watch = answering(), answering()
    gone.answer(410, b"this hook was removed")
    gone_id = tenant.create_endpoint(gone.url + "/hook",
                                     events=["scan.completed", "webhook.disabled"])
    watch_id = tenant.create_endpoint(watch.url + "/watch", events=["webhook.disabled"])
    [delivery_id] = tenant.emit()

    drain(app)

    endpoint = tenant.endpoint(gone_id)
    assert (endpoint["status"], endpoint["isActive"], endpoint["disabledReason"]) == (
        "disabled", False, "Receiver answered 410 Gone")
    shown = tenant.delivery(delivery_id)
    assert (shown["status"], shown["attempts"], shown["nextAttemptAt"]) == ("exhausted", 1, None)
    run_due_work(app)
    [told] = watch.wait_for(1)
    event = told.json()
    assert event["event_type"] == "webhook.disabled"
    assert event["data"]["webhook"]["id"] == gone_id
    assert event["data"]["reason"] == "Receiver answered 410 Gone"
    assert event["data"]["last_error"] == "HTTP 410"
    # The endpoint that stopped is not told about itself, and is sent nothing more.
    later = tenant.emit()
    run_due_work(app)
    assert len(gone.requests) == 1
    assert tenant.delivery(later[0])["status"] == "pending"
    assert tenant.endpoint(watch_id)["status"] == "healthy"


@pytest.mark.parametrize("status, retry_after, waits", [
    (429, "120", 120),
    (503, "120", 120),
    (429, "5", 60),  # never sooner than the policy's delay
    (429, None, 60),
    (503, "date+7200", 7200),
    (429, "9999999", 86400),  # at most 24 hours
    (429, "soon", 60),  # not a number or a date: the policy decides
    (500, "120", 60),  # only 429 and 503 speak for the receiver's load
])
def test_retry_after_sets_when_the_next_attempt_comes(app, tenant, answering, status,
                                                      retry_after, waits):
    receiver = answering()
    headers = {}
    if retry_after == "date+7200":
        headers["Retry-After"] = format_datetime(utcnow() + timedelta(seconds=7200),
                                                 usegmt=True)
    elif retry_after is not None:
        headers["Retry-After"] = retry_after
    receiver.queue(Reply(status=status, headers=headers))
    endpoint_id = tenant.create_endpoint(receiver.url + "/hook")
    [delivery_id] = tenant.emit()
    before = utcnow()

    drain(app)

    shown = tenant.delivery(delivery_id)
    assert (shown["status"], shown["attempts"], shown["lastStatusCode"]) == (
        "failed", 1, status)
    wait = (moment(shown["nextAttemptAt"]) - before).total_seconds()
    assert waits - 2 <= wait <= waits + 2
    # A throttled attempt is a failed one for the streak.
    assert tenant.endpoint(endpoint_id)["stats"]["consecutiveFailures"] == 1


def test_a_quick_policy_pause_is_told_to_the_other_endpoints(app, tenant, answering):
    app.config["WEBHOOK_QUICK_PAUSE_AFTER"] = 3
    failing, watch = answering(), answering()
    failing.answer(500)
    failing_id = tenant.create_endpoint(failing.url + "/hook", retryPolicy="quick",
                                        events=["scan.completed", "webhook.paused"])
    tenant.create_endpoint(watch.url + "/watch", events=["webhook.paused"])
    tenant.emit()

    for _ in range(5):
        run_due_work(app)
        if tenant.endpoint(failing_id)["status"] == "paused":
            break
    endpoint = tenant.endpoint(failing_id)
    assert (endpoint["status"], endpoint["isActive"]) == ("paused", False)
    run_due_work(app)
    [told] = watch.wait_for(1)
    event = told.json()
    assert event["event_type"] == "webhook.paused"
    assert event["data"]["webhook"]["id"] == failing_id
    assert event["data"]["reason"] == "Paused automatically after 3 consecutive failed attempts"
    assert event["data"]["last_error"] == "HTTP 500"
    assert len(failing.requests) == 3
