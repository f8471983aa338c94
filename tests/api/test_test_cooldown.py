"""WEBHOOK_TEST_COOLDOWN_SECONDS: one Test send per endpoint per cooldown, on the page and
the API alike, so Test cannot be used to flood a receiver."""
import time

import pytest

from app.embedded_redis import free_port
from tests import factories
from tests.conftest import ApiClient
from tests.jobs.engine import make_endpoint

MESSAGE = ("One Test send per endpoint every 30 s (WEBHOOK_TEST_COOLDOWN_SECONDS): "
           "try again in ")


@pytest.fixture
def config_overrides():
    return {"WEBHOOK_TEST_COOLDOWN_SECONDS": 30}


def test_the_api_answers_429_with_retry_after_within_the_cooldown(api, org, receiver, worker):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    first = api.post(f"/webhooks/{endpoint_id}/test", json={"eventType": "scan.completed"})
    assert first.status_code == 200
    again = api.post(f"/webhooks/{endpoint_id}/test", json={"eventType": "scan.completed"})
    assert again.status_code == 429
    assert 25 <= int(again.headers["Retry-After"]) <= 30
    error = again.get_json()["error"]
    assert error["code"] == "rate_limited" and error["message"].startswith(MESSAGE)
    assert len(receiver.wait_for(1)) == 1

    # Another endpoint has its own cooldown.
    other_id, _ = make_endpoint(org, receiver.url)
    assert api.post(f"/webhooks/{other_id}/test",
                    json={"eventType": "scan.completed"}).status_code == 200


def test_the_page_shows_the_message_next_to_the_form(client, auth, org, receiver, worker):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    auth.login(factories.make_user(org, "admin").email)
    path = f"/organization/webhooks/{endpoint_id}/test"
    assert client.post(path, data={"event_type": "scan.completed"}).status_code == 200
    response = client.post(path, data={"event_type": "scan.completed"})
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    position = page.index('id="event_type"')
    assert MESSAGE in page[position:position + 2000]
    assert len(receiver.wait_for(1)) == 1


def test_the_cooldown_ends(make_app, org, token, receiver, worker):
    endpoint_id, _ = make_endpoint(org, receiver.url)
    short = make_app(WEBHOOK_TEST_COOLDOWN_SECONDS=1)
    with short.app_context():
        client = ApiClient(short.test_client(), token)
        path = f"/webhooks/{endpoint_id}/test"
        assert client.post(path, json={"eventType": "scan.completed"}).status_code == 200
        assert client.post(path, json={"eventType": "scan.completed"}).status_code == 429
        time.sleep(1.1)  # Redis keeps its own time: the key's expiry ends the cooldown
        assert client.post(path, json={"eventType": "scan.completed"}).status_code == 200


def test_redis_down_does_not_stop_test_sends(make_app, org, token, receiver):
    """Without Redis no worker hears of the send, so it is 202 (recorded, not yet sent):
    the point is that the cooldown does not refuse it."""
    endpoint_id, _ = make_endpoint(org, receiver.url)
    down = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
                    WEBHOOK_TEST_COOLDOWN_SECONDS=30)
    with down.app_context():
        client = ApiClient(down.test_client(), token)
        statuses = [client.post(f"/webhooks/{endpoint_id}/test",
                                json={"eventType": "scan.completed"}).status_code
                    for _ in range(2)]
    assert statuses == [202, 202]
