"""Benchmark: in-process cost of one ingest with and without the event schema check.

Run by hand: .venv/bin/python tests/bench/ingest_schemas.py [--events 300] [--rounds 6]
Uses a private Redis and a temporary SQLite database unless DATABASE_URL names another one
(its tables are dropped and rebuilt: give it a scratch database).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from app import catalog, create_app  # noqa: E402
from app.embedded_redis import EmbeddedRedis  # noqa: E402
from app.extensions import db  # noqa: E402
from app.services import accounts, endpoints, event_schemas, events, tokens  # noqa: E402

EVENT_TYPE = "scan.completed"


def _data(number):
    """A scan.completed event as the platform sends it: the sample's fields, a new scan id."""
    return {**catalog.get(EVENT_TYPE).sample, "scan_id": f"scan-{number}"}


def _per_event_ms(org_id, count, start, schema):
    """(CPU ms, wall ms) per ingest of `count` events."""
    cpu, wall = time.process_time(), time.perf_counter()
    for number in range(start, start + count):
        events.ingest(org_id, EVENT_TYPE, _data(number), schema=schema)
    return ((time.process_time() - cpu) * 1000 / count,
            (time.perf_counter() - wall) * 1000 / count)


def _api_ms(app, token, count, start):
    """CPU ms per POST /events through the app (routing, token, JSON, check, ingest)."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    cpu = time.process_time()
    for number in range(start, start + count):
        response = client.post("/api/sch/org/events", headers=headers,
                               json={"eventType": EVENT_TYPE, "data": _data(number)})
        assert response.status_code == 202, response.get_data(as_text=True)
    return (time.process_time() - cpu) * 1000 / count


def _check_alone_us(count):
    """Microseconds of CPU per schema check alone (the compiled validator, no database)."""
    data = {"company": "org", **_data(0)}
    cpu = time.process_time()
    for _ in range(count):
        event_schemas.check(EVENT_TYPE, data)
    return (time.process_time() - cpu) * 1e6 / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="events per block")
    parser.add_argument("--rounds", type=int, default=6, help="blocks of each kind")
    options = parser.parse_args()

    workdir = tempfile.TemporaryDirectory()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{workdir.name}/bench.db"
    redis = EmbeddedRedis().start()
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis.url,
        "SECRET_KEY": "bench-secret-key",
        "WEBHOOK_ALLOW_HTTP": True,
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": True,
    })
    try:
        with app.app_context():
            db.drop_all()
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            upgrade()
            org = accounts.create_organization("Bench")
            for number in range(3):
                endpoints.create_endpoint(org.id, None, {
                    "name": f"Receiver {number}", "url": f"http://127.0.0.1:9/{number}",
                    "events": [EVENT_TYPE], "isActive": number != 2})
            _per_event_ms(org.id, options.events, 0, schema=True)  # warm up both paths
            results = {False: [], True: []}
            start = options.events
            for _ in range(options.rounds):
                for schema in (False, True):  # interleaved, so drift hits both alike
                    results[schema].append(_per_event_ms(org.id, options.events, start, schema))
                    start += options.events
            alone = _check_alone_us(20_000)
            _token, plaintext = tokens.create_token(org.id, "bench")
            api = statistics.median(
                _api_ms(app, plaintext, options.events, start + n * options.events)
                for n in range(3))
        print(f"database: {database_url.split(':', 1)[0]}; {options.rounds} blocks of "
              f"{options.events} {EVENT_TYPE} events each way, 3 endpoints")
        for schema in (False, True):
            cpu = statistics.median(r[0] for r in results[schema])
            wall = statistics.median(r[1] for r in results[schema])
            label = "with schema check   " if schema else "without schema check"
            print(f"  {label}: {cpu:.3f} ms CPU, {wall:.3f} ms wall per ingest (median block)")
        cpu_off = statistics.median(r[0] for r in results[False])
        cpu_on = statistics.median(r[0] for r in results[True])
        print(f"  difference: {cpu_on - cpu_off:+.3f} ms CPU per ingest "
              f"({(cpu_on / cpu_off - 1) * 100:+.1f} %)")
        print(f"  schema check alone: {alone:.1f} µs CPU per event")
        print(f"  POST /events through the app (check included): {api:.3f} ms CPU per call; "
              f"the check is {alone / 10 / api:.1f} % of it")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.redis.close()
        redis.stop()
        workdir.cleanup()


if __name__ == "__main__":
    main()
