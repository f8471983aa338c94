"""Ingest's kept endpoint lists: a change made in another process reaches every process's
events, even when Redis could not announce it."""
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Delivery
from app.services import events
from tests import factories
from tests.reliability.harness import TcpProxy

ROOT = Path(__file__).resolve().parents[2]

# Another process (a second gunicorn worker, say) adds an endpoint while Redis is unreachable.
ADD_ENDPOINT = """
import sys
from app import create_app
from app.services import endpoints
from tests.conftest import base_config

database_url, redis_url, org_id, url = sys.argv[1:]
app = create_app(base_config(database_url, redis_url))
with app.app_context():
    endpoint, _secret = endpoints.create_endpoint(
        org_id, None, {"name": "Added", "url": url, "events": ["scan.completed"]})
    print(endpoint.id)
"""
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def add_endpoint_elsewhere(database_url, org_id):
    done = subprocess.run(
        [sys.executable, "-c", ADD_ENDPOINT, database_url, UNREACHABLE_REDIS, org_id,
         "http://127.0.0.1:9/added"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


def endpoints_sent_to(ingested):
    return set(db.session.execute(
        select(Delivery.endpoint_id).where(Delivery.event_id == ingested.event.id)
    ).scalars())


def test_an_unannounced_change_reaches_a_process_that_kept_the_old_list(
    app, org, database_url, monkeypatch
):
    monkeypatch.setattr(events, "SUBSCRIBERS_MAX_AGE_SECONDS", 0.5)
    first = factories.make_endpoint(org, events=["scan.completed"])
    assert endpoints_sent_to(events.ingest(org.id, "scan.completed", {})) == {first.id}

    added = add_endpoint_elsewhere(database_url, org.id)
    time.sleep(0.6)

    assert endpoints_sent_to(events.ingest(org.id, "scan.completed", {})) == {first.id, added}


@pytest.fixture
def redis_proxy(redis_url):
    parts = urlsplit(redis_url)
    proxy = TcpProxy(parts.hostname, parts.port).start()
    yield proxy, f"redis://127.0.0.1:{proxy.port}{parts.path}"
    proxy.stop()


def test_a_process_that_ingests_while_redis_is_away_reads_the_list_again_after(
    make_app, org, database_url, redis_proxy
):
    proxy, proxied_url = redis_proxy
    org_id = org.id
    app = make_app(REDIS_URL=proxied_url)
    with app.app_context():
        first = factories.make_endpoint(org, events=["scan.completed"]).id
        assert endpoints_sent_to(events.ingest(org_id, "scan.completed", {})) == {first}

        proxy.stop()
        added = add_endpoint_elsewhere(database_url, org_id)
        during = events.ingest(org_id, "scan.completed", {})
        proxy.start()
        after = events.ingest(org_id, "scan.completed", {})

        assert endpoints_sent_to(during) == {first, added}
        assert endpoints_sent_to(after) == {first, added}
