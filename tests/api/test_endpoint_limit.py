"""MAX_ENDPOINTS_PER_ORG: no organization makes more live endpoints than the limit, by the
API, the form, or many creates at once. Before, 250 endpoints were created and one event
made 250 deliveries."""
import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Endpoint
from app.services import endpoints
from tests import factories

LIMIT = 3
MESSAGE = (f"This organization has {LIMIT} endpoints, the most allowed "
           f"(MAX_ENDPOINTS_PER_ORG is {LIMIT}): delete one to add another")


@pytest.fixture
def config_overrides():
    return {"MAX_ENDPOINTS_PER_ORG": LIMIT}


def new_endpoint(api, name="E"):
    return api.post("/webhooks", json={"name": name, "url": "https://93.184.215.14/h",
                                       "events": ["scan.completed"]})


def live_count(org_id):
    db.session.expire_all()
    return db.session.execute(select(func.count(Endpoint.id)).where(
        Endpoint.org_id == org_id, Endpoint.deleted_at.is_(None))).scalar_one()


def test_the_api_refuses_one_more_than_the_limit(api, org):
    made = [new_endpoint(api, f"E{n}") for n in range(LIMIT)]
    assert [response.status_code for response in made] == [201] * LIMIT
    refused = new_endpoint(api, "One too many")
    assert refused.status_code == 422
    assert refused.get_json()["error"] == {"code": "limit_reached", "message": MESSAGE}
    assert live_count(org.id) == LIMIT

    # Deleted endpoints do not count: deleting one makes room for one.
    assert api.delete(f"/webhooks/{made[0].get_json()['id']}").status_code == 204
    assert new_endpoint(api, "In its place").status_code == 201
    assert new_endpoint(api, "Still too many").status_code == 422


def test_the_form_gives_the_same_message(api, client, auth, org):
    for n in range(LIMIT):
        new_endpoint(api, f"E{n}")
    auth.login(factories.make_user(org, "admin").email)
    response = client.post("/organization/webhooks/new", data={
        "name": "Ops", "url": "https://93.184.215.14/hook", "type": "other",
        "events": ["scan.completed"], "retry_policy": "standard", "save": "Save"})
    assert response.status_code == 422
    assert f"Nothing was saved: {MESSAGE}." in response.get_data(as_text=True)
    assert live_count(org.id) == LIMIT


def test_each_organization_has_its_own_limit(api, org):
    for n in range(LIMIT):
        new_endpoint(api, f"E{n}")
    other = factories.make_org("Other")
    endpoint, _secret = endpoints.create_endpoint(other.id, None, {
        "name": "Theirs", "url": "https://93.184.215.14/h", "events": ["scan.completed"]})
    assert endpoint.org_id == other.id


def test_concurrent_creates_cannot_pass_the_limit(app, org):
    org_id = org.id
    for n in range(LIMIT - 1):
        endpoints.create_endpoint(org_id, None, {
            "name": f"E{n}", "url": "https://93.184.215.14/h", "events": ["scan.completed"]})
    db.session.remove()
    racers = 6
    start = threading.Barrier(racers)
    outcomes = []

    def create(number):
        with app.app_context():
            start.wait()
            try:
                endpoints.create_endpoint(org_id, None, {
                    "name": f"Racer {number}", "url": "https://93.184.215.14/h",
                    "events": ["scan.completed"]})
                outcomes.append("created")
            except endpoints.EndpointLimitReached:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["created"] + ["refused"] * (racers - 1)
    assert live_count(org_id) == LIMIT
