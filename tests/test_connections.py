"""Pooled database connections the server dropped (a restart, an idle timeout) are replaced
before a request uses them."""
import psycopg
import pytest
from sqlalchemy.engine import make_url

from app import connection_checks
from tests import factories
from tests.conftest import ApiClient, _postgres_url

pytestmark = pytest.mark.skipif(_postgres_url() is None, reason="PostgreSQL drops connections")

NAME = "hookline-dropped-connections"


def _drop_connections(database_url):
    """What a database restart does to the app's connections, and to them alone."""
    url = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        dropped = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s", (NAME,)
        ).fetchone()[0]
    return dropped


def test_calls_go_on_after_the_database_dropped_every_pooled_connection(
    make_app, org, database_url, monkeypatch
):
    _, token = factories.make_token(org)
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"application_name": NAME}})
    api = ApiClient(app.test_client(), token)
    assert api.post("/webhooks", json={
        "name": "a", "url": "https://hooks.example.test/in", "events": ["scan.completed"],
    }).status_code == 201
    assert api.get("/webhooks").status_code == 200

    assert _drop_connections(database_url) >= 1
    # The connections sat idle long enough to be checked (IDLE_SECONDS) before their next use.
    monkeypatch.setattr(connection_checks, "IDLE_SECONDS", 0)

    listed = api.get("/webhooks")
    emitted = api.post("/events", json={"eventType": "scan.completed", "data": {"scan_id": "s-1"}})

    assert listed.status_code == 200 and [w["name"] for w in listed.json["data"]] == ["a"]
    assert emitted.status_code == 202 and emitted.json["deliveries"] == 1
