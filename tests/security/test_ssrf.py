"""Address safety with the development allowances off: refused in the form, the API and at
send time, including a host whose address changes between validation and send."""
import socket

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Attempt, Endpoint
from app.services import endpoints, events
from app.services.url_safety import UrlRejected, resolve_checked

from .. import factories
from ..jobs.engine import attempt_now
from ..reliability.figures import record
from ..services.test_url_safety import BLOCKED_HOSTS

PUBLIC_URL = "https://93.184.215.14/hook"
HOSTS = [*BLOCKED_HOSTS, socket.gethostname()]
RESULTS = {"inputs": 0, "form": 0, "api": 0, "send": 0, "server_errors": 0}


@pytest.fixture
def config_overrides():
    return {"WEBHOOK_ALLOW_HTTP": False, "WEBHOOK_ALLOW_PRIVATE_TARGETS": False}


@pytest.fixture(scope="module", autouse=True)
def _figures():
    yield
    refused = RESULTS["form"] + RESULTS["api"] + RESULTS["send"]
    record("Address safety (SSRF), allowances off", hosts=len(HOSTS), inputs=RESULTS["inputs"],
           refused_form=RESULTS["form"], refused_api=RESULTS["api"],
           blocked_at_send=RESULTS["send"], accepted=RESULTS["inputs"] - refused,
           server_errors=RESULTS["server_errors"])


def endpoint_count():
    return db.session.execute(select(func.count(Endpoint.id))).scalar_one()


@pytest.mark.parametrize("host", HOSTS)
def test_blocked_host_is_refused_by_form_api_and_sender(host, app, org, client, auth, api,
                                                        receiver):
    port = receiver.url.rsplit(":", 1)[1]
    url = f"https://{host}:{port}/hook"

    RESULTS["inputs"] += 3
    created = api.post("/webhooks", json={"name": "x", "url": url, "events": ["scan.completed"]})
    RESULTS["server_errors"] += created.status_code >= 500
    assert created.status_code == 422
    assert "blocked address" in created.get_json()["error"]["fields"]["url"]
    RESULTS["api"] += 1

    auth.login(factories.make_user(org, "admin").email)
    page = client.post("/organization/webhooks/new", data={
        "name": "x", "url": url, "type": "other", "events": ["scan.completed"],
        "retry_policy": "standard", "save": "Save"})
    RESULTS["server_errors"] += page.status_code >= 500
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert 'id="url"' in text and "blocked address" in text and "is-invalid" in text
    assert endpoint_count() == 0
    RESULTS["form"] += 1

    # Saved while it was acceptable, the URL now names the blocked host: the send refuses it.
    endpoint, _ = endpoints.create_endpoint(org.id, None, {
        "name": "Was public", "url": PUBLIC_URL, "events": ["scan.completed"]})
    db.session.execute(update(Endpoint).where(Endpoint.id == endpoint.id)
                       .values(url=f"http://{host}:{port}/hook"))
    db.session.commit()
    [delivery_id] = events.ingest(org.id, "scan.completed", {"scan_id": "s"}).delivery_ids
    attempt = attempt_now(delivery_id)
    assert attempt.error.startswith("Blocked address: "), attempt.error
    assert attempt.response_status is None and not attempt.succeeded
    assert receiver.requests == []
    RESULTS["send"] += 1


def test_a_dns_answer_that_changes_after_validation_is_checked_again_at_send(
    app, org, receiver
):
    """The host passed validation; its stored name now resolves to 127.0.0.1 (the machine's
    own name and `localhost.`): every send resolves again, checks, and records why."""
    port = receiver.url.rsplit(":", 1)[1]
    endpoint, _ = endpoints.create_endpoint(org.id, None, {
        "name": "Rebinding", "url": "https://hooks.example.test/in",
        "events": ["scan.completed"]})
    errors = []
    for name in (socket.gethostname(), "localhost."):
        db.session.execute(update(Endpoint).where(Endpoint.id == endpoint.id)
                           .values(url=f"http://{name}:{port}/in"))
        db.session.commit()
        [delivery_id] = events.ingest(org.id, "scan.completed", {}).delivery_ids
        errors.append(attempt_now(delivery_id).error)
    assert errors[0] == (f"Blocked address: URL host {socket.gethostname()} resolves to a "
                         "blocked address (127.0.0.1): loopback, private, link-local, "
                         "multicast, unspecified and reserved addresses are refused")
    assert errors[1].startswith("Blocked address: URL points to a blocked address (localhost.)")
    assert receiver.requests == []
    stored = db.session.execute(select(Attempt.error).order_by(Attempt.id)).scalars().all()
    assert stored == errors


@pytest.mark.parametrize("name", ["localhost.", socket.gethostname()])
def test_resolve_checked_refuses_names_that_resolve_to_loopback(name):
    with pytest.raises(UrlRejected, match="blocked address"):
        resolve_checked(name, 443, allow_private=False)


def test_the_machines_own_name_resolves_to_loopback():
    """So the checks above refuse a name for what it resolves to, not for how it looks."""
    assert resolve_checked(socket.gethostname(), 443, allow_private=True) == ["127.0.0.1"]
