"""Issue 13, scenario 3: a user pauses and resumes an endpoint while one of its deliveries
is being sent. A second worker draining meanwhile never sends that delivery too, and the
attempt in flight is what is recorded."""
import re

import pytest

from tests.reliability.harness import wait_until

from .pages import edit_form, flashed
from .workers import drain, run_due_work


def pause_and_resume_through_the_api(tenant, client, endpoint_id):
    for active in (False, True):
        response = tenant.call("PATCH", f"/webhooks/{endpoint_id}", json={"isActive": active})
        assert response.status_code == 200, response.get_json()


def pause_and_resume_on_the_page(tenant, client, endpoint_id, discard_held=False):
    """Untick Active and save, then tick it and save; returns what the resume page said."""
    page = f"/organization/webhooks/{endpoint_id}/edit"
    for active in (False, True):
        form = edit_form(tenant.endpoint(endpoint_id), active, discard_held and active)
        response = client.post(page, data=form, follow_redirects=True)
        assert response.status_code == 200
    return flashed(response)


@pytest.fixture
def send_in_flight(tenant, receiver, background_worker):
    """An endpoint whose first delivery is being sent; the receiver holds a 500 for it.
    Returns (endpoint id, delivery id)."""
    endpoint_id = tenant.create_endpoint(receiver.url)
    receiver.hold(500)
    [delivery_id] = tenant.emit()
    background_worker()
    receiver.wait_for(1)
    return endpoint_id, delivery_id


def the_attempt_in_flight_is_recorded(app, tenant, receiver, delivery_id):
    """Let the held 500 go; returns the delivery once that attempt is recorded and the
    queue has been drained again."""
    receiver.release()
    wait_until(lambda: tenant.delivery(delivery_id)["attemptList"], 15,
               what="the attempt in flight to be recorded")
    drain(app)
    shown = tenant.delivery(delivery_id)
    assert receiver.sent(delivery_id) == 1
    assert [(a["number"], a["responseStatus"]) for a in shown["attemptList"]] == [(1, 500)]
    assert (shown["attempts"], shown["lastStatusCode"], shown["deliveredAt"]) == (1, 500, None)
    return shown


@pytest.mark.parametrize("pause_and_resume", [
    pause_and_resume_through_the_api, pause_and_resume_on_the_page
])
def test_resuming_mid_send_never_starts_a_second_send(
    app, tenant, receiver, send_in_flight, signed_in, pause_and_resume
):
    endpoint_id, delivery_id = send_in_flight

    pause_and_resume(tenant, signed_in, endpoint_id)
    run_due_work(app)  # a second worker drains while the first is still sending

    assert receiver.most_at_once(delivery_id) == 1, "a second worker sent it at the same time"
    shown = the_attempt_in_flight_is_recorded(app, tenant, receiver, delivery_id)
    assert shown["status"] == "failed" and shown["nextAttemptAt"] is not None
    stats = tenant.endpoint(endpoint_id)["stats"]
    assert (stats["total"], stats["failed"]) == (1, 1)


def test_resuming_with_discard_mid_send_keeps_the_pages_word(
    app, tenant, receiver, send_in_flight, signed_in
):
    """Whether the delivery in flight counts as held is the engine's choice; what the page
    says was discarded must end cancelled, and what it did not discard keeps its outcome."""
    endpoint_id, delivery_id = send_in_flight

    said = pause_and_resume_on_the_page(tenant, signed_in, endpoint_id, discard_held=True)
    run_due_work(app)

    assert receiver.most_at_once(delivery_id) == 1, "a second worker sent it at the same time"
    discarded = re.search(r"Resumed: (\d+) held deliveries discarded", " ".join(said))
    assert discarded, said
    shown = the_attempt_in_flight_is_recorded(app, tenant, receiver, delivery_id)
    if discarded.group(1) == "1":
        assert (shown["status"], shown["nextAttemptAt"]) == ("cancelled", None), said
    else:
        assert discarded.group(1) == "0", said
        assert shown["status"] == "failed"
