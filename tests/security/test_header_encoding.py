"""Custom header values must be sendable: HTTP header values are Latin-1, so a value with
other characters is refused at save time, naming the header, on the form and the API."""
from sqlalchemy import func, select

from app.extensions import db
from app.models import Endpoint
from tests import factories
from tests.jobs.engine import run_worker

MESSAGE = ("Header X-Team value may only use Latin-1 characters (HTTP header values cannot "
           "carry others): encode the value, for example as base64")


def endpoint_count():
    return db.session.execute(select(func.count(Endpoint.id))).scalar_one()


def test_the_api_refuses_a_value_beyond_latin1(api, receiver):
    response = api.post("/webhooks", json={
        "name": "H", "url": receiver.url, "events": ["scan.completed"],
        "headers": [{"name": "X-Team", "value": "AppSec ✓"}]})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["headers"] == f"Header 1: {MESSAGE}"
    assert endpoint_count() == 0


def test_latin1_values_are_taken_and_sent(app, api, receiver):
    response = api.post("/webhooks", json={
        "name": "H", "url": receiver.url, "events": ["scan.completed"],
        "headers": [{"name": "X-Team", "value": "Sécurité"}]})
    assert response.status_code == 201
    assert api.post("/events", json={"eventType": "scan.completed",
                                     "data": {"scan_id": "s-1"}}).status_code == 202
    run_worker(app)
    assert receiver.wait_for(1)[0].headers["X-Team"] == "Sécurité"


def test_the_form_shows_the_message_next_to_the_header(client, auth, org):
    auth.login(factories.make_user(org, "admin").email)
    response = client.post("/organization/webhooks/new", data={
        "name": "H", "url": "https://93.184.215.14/hook", "type": "other",
        "events": ["scan.completed"], "retry_policy": "standard",
        "headers-0-name": "X-Team", "headers-0-value": "日本", "save": "Save"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    position = page.index('id="headers-0-name"')
    assert MESSAGE in page[position:position + 2000]
    assert endpoint_count() == 0
