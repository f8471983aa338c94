"""Benchmark: history, statistics and CSV export over 1,000,000 deliveries in PostgreSQL.

Run by hand (not collected by pytest):
    .venv/bin/python tests/bench/history_at_scale.py [--rows 1000000] [--reuse]
        [--retention-days 60] [--database URL]
The database (default postgresql://postgres@127.0.0.1:5432/hookline_bench) is emptied and
rebuilt through the migrations. It bulk-loads the rows with one INSERT … SELECT over
generate_series, times the pages with the Flask test client, prints EXPLAIN ANALYZE of the
history query, then runs a real gunicorn process and measures its peak RSS while the whole
history streams out as CSV.
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402

from app import catalog, create_app  # noqa: E402
from app.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Endpoint, EndpointDailyStat, Organization, utcnow  # noqa: E402
from app.services import accounts, history, retention, tokens  # noqa: E402

PASSWORD = "bench-password-1"
INJECTION = "=HYPERLINK(\"http://evil.example\",\"click\")"

LOAD_SQL = """
INSERT INTO deliveries (id, org_id, endpoint_id, event_id, event_type, payload, status,
                        attempt_count, next_attempt_at, locked_until, next_trigger,
                        last_status_code, last_error, created_at, updated_at, delivered_at)
SELECT md5('d' || i)::uuid::text,
       :org_id,
       (CAST(:endpoints AS text[]))[1 + i % :endpoint_count],
       md5('e' || i)::uuid::text,
       (CAST(:types AS text[]))[1 + i % :type_count],
       '{"event_id":"' || md5('e' || i)::uuid::text || '","data":{"n":' || i || '}}',
       s.status,
       CASE s.status WHEN 'delivered' THEN 1 WHEN 'exhausted' THEN 5 WHEN 'pending' THEN 0
                     ELSE 2 END,
       CASE WHEN s.status IN ('failed', 'pending') THEN c.at + interval '5 minutes' END,
       NULL,
       'auto',
       CASE s.status WHEN 'delivered' THEN 200 WHEN 'pending' THEN NULL ELSE 503 END,
       CASE WHEN i = :injected THEN :injection
            WHEN s.status IN ('failed', 'exhausted') THEN 'HTTP 503 from receiver' END,
       c.at, c.at,
       CASE WHEN s.status = 'delivered' THEN c.at + interval '150 milliseconds' END
FROM generate_series(1, :rows) AS i
CROSS JOIN LATERAL (SELECT now() - (i * interval '7.7 seconds') AS at) AS c
CROSS JOIN LATERAL (SELECT CASE WHEN i % 100 < 86 THEN 'delivered'
                                WHEN i % 100 < 94 THEN 'failed'
                                WHEN i % 100 < 98 THEN 'exhausted'
                                WHEN i % 100 < 99 THEN 'pending'
                                ELSE 'cancelled' END AS status) AS s
"""


def build_app(database_url, redis_url):
    return create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
        "HOOKLINE_ENV": "development", "SECRET_KEY": "bench-secret", "WTF_CSRF_ENABLED": False,
    })


def load(app, rows):
    """Empty the database, migrate, and bulk-load the organization and its history."""
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        org = accounts.create_organization("Bench Corp")
        admin = accounts.create_user(org.id, "admin@bench.test", PASSWORD, "admin", "Ada Admin")
        _, token = tokens.create_token(org.id, "bench")
        names = ["Slack alerts", "PagerDuty", "Jira sync", "Splunk HEC", "Old hook"]
        endpoint_rows = [
            Endpoint(org_id=org.id, name=name, url=f"https://hooks.example.test/{n}",
                     events=["scan.completed"], secret_encrypted="bench",
                     deleted_at=utcnow() if name == "Old hook" else None)
            for n, name in enumerate(names)
        ]
        db.session.add_all(endpoint_rows)
        db.session.commit()
        ids = [endpoint.id for endpoint in endpoint_rows]
        started = time.perf_counter()
        db.session.execute(text(LOAD_SQL), {
            "org_id": org.id, "endpoints": ids, "endpoint_count": len(ids),
            "types": [e.type for e in catalog.CATALOG], "type_count": len(catalog.CATALOG),
            "rows": rows, "injected": 7, "injection": INJECTION,
        })
        per_endpoint = rows // len(ids)
        today = utcnow().date()
        for endpoint in endpoint_rows:
            endpoint.total_attempts = per_endpoint * 12 // 10
            endpoint.successful_attempts = per_endpoint * 86 // 100
            endpoint.failed_attempts = endpoint.total_attempts - endpoint.successful_attempts
            endpoint.last_attempt_at = utcnow()
            endpoint.last_attempt_ok = True
            for back in range(90):
                db.session.add(EndpointDailyStat(
                    endpoint_id=endpoint.id, org_id=org.id, day=today - timedelta(days=back),
                    successful=per_endpoint // 90 * 86 // 100, failed=per_endpoint // 90 // 7))
        db.session.commit()
        loaded = time.perf_counter() - started
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        print(f"loaded {rows:,} deliveries in {loaded:.1f} s (+ VACUUM ANALYZE)")
        return {"org_id": org.id, "admin": admin.email, "token": token, "endpoints": ids}


def reuse(app):
    """The seed of a database loaded by an earlier run (with a fresh API token)."""
    with app.app_context():
        org = db.session.execute(select(Organization)).scalars().one()
        _, token = tokens.create_token(org.id, "bench")
        ids = db.session.execute(
            select(Endpoint.id).where(Endpoint.org_id == org.id).order_by(Endpoint.name)
        ).scalars().all()
        return {"org_id": org.id, "admin": "admin@bench.test", "token": token,
                "endpoints": ids}


def deep_cursor(app, org_id, depth):
    """The cursor a reader holds after paging `depth` rows deep."""
    with app.app_context():
        row = db.session.execute(text(
            "SELECT created_at, id FROM deliveries WHERE org_id = :org "
            "ORDER BY created_at DESC, id DESC OFFSET :depth LIMIT 1"),
            {"org": org_id, "depth": depth}).one()
        return history.encode_cursor(row.created_at, row.id)


def time_pages(app, seed, cursor):
    client = app.test_client()
    response = client.post("/login", data={"email": seed["admin"], "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    webhook = seed["endpoints"][1]
    since = (utcnow() - timedelta(days=30)).date().isoformat()
    until = (utcnow() - timedelta(days=20)).date().isoformat()
    pages = {
        "history, first page": "/organization/webhooks/history",
        "history, status=exhausted & eventType": "/organization/webhooks/history"
                                                 "?status=exhausted&eventType=scan.failed",
        "history, rare: cancelled & user.login_failed": "/organization/webhooks/history"
                                                        "?status=cancelled"
                                                        "&eventType=user.login_failed",
        "history, webhook & date range": f"/organization/webhooks/history?webhook={webhook}"
                                         f"&from={since}&to={until}",
        "history, cursor 900,000 rows deep": f"/organization/webhooks/history?cursor={cursor}",
        "statistics page": "/organization/webhooks/stats",
        "API list, limit 100": "/api/sch/org/webhook-deliveries?limit=100",
    }
    headers = {"Authorization": f"Bearer {seed['token']}"}
    print("\npage timings (Flask test client, 15 runs after 1 warm-up, ms):")
    for label, path in pages.items():
        runs = []
        for n in range(16):
            started = time.perf_counter()
            response = client.get(path, headers=headers if path.startswith("/api") else {})
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (path, response.status_code)
            if n:
                runs.append(elapsed)
        p90 = statistics.quantiles(runs, n=10)[-1]
        print(f"  {label:46s} median {statistics.median(runs):6.1f}  p90 {p90:6.1f}  "
              f"max {max(runs):6.1f}")


def explain(app, seed, cursor):
    with app.app_context():
        cases = {
            "first page": (history.HistoryFilters(), None),
            "status + event type": (history.HistoryFilters(status="exhausted",
                                                           event_type="scan.failed"), None),
            "deep cursor": (history.HistoryFilters(), cursor),
        }
        for label, (filters, page_cursor) in cases.items():
            statement = history.page_statement(seed["org_id"], filters, page_cursor)
            compiled = statement.compile(dialect=postgresql.psycopg.dialect())
            with db.engine.connect() as conn:
                plan = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), compiled.params).scalars()
                print(f"\nEXPLAIN ANALYZE — history query, {label}:")
                for line in plan:
                    print("  " + line)


def rss_kib(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure_export(database_url, redis_url, seed, rows):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "HOOKLINE_ENV": "development", "SECRET_KEY": "bench-secret"}
    server = subprocess.Popen(
        # The shipped gunicorn.conf.py (threaded worker), with one worker to measure.
        [str(ROOT / ".venv/bin/gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        headers = {"Authorization": f"Bearer {seed['token']}"}
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(base + "/healthz", timeout=10).close()
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        requests.get(base + "/api/sch/org/webhook-deliveries?limit=100", headers=headers,
                     timeout=30).close()
        workers = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        worker = int(workers[0])
        before = rss_kib(worker, "VmRSS")
        samples = []
        with tempfile.NamedTemporaryFile("w+", suffix=".csv", newline="") as out:
            started = time.perf_counter()
            with requests.get(base + "/api/sch/org/webhook-deliveries/export.csv",
                              headers=headers, stream=True, timeout=600) as response:
                assert response.status_code == 200, response.status_code
                disposition = response.headers["Content-Disposition"]
                for n, chunk in enumerate(response.iter_content(64 * 1024, decode_unicode=True)):
                    out.write(chunk)
                    if n % 50 == 0:
                        samples.append(rss_kib(worker, "VmRSS"))
            elapsed = time.perf_counter() - started
            peak = rss_kib(worker, "VmHWM")
            size = out.tell()
            out.seek(0)
            reader = csv.reader(out)
            header = next(reader)
            count, injected = 0, None
            for row in reader:
                count += 1
                if row[9].startswith("'="):
                    injected = row[9]
        print(f"\nCSV export through gunicorn ({disposition}):")
        print(f"  {count:,} data rows (+ header {header[:3]}…), {size / 2**20:.0f} MiB "
              f"in {elapsed:.1f} s = {count / elapsed:,.0f} rows/s")
        print(f"  web worker RSS before {before / 1024:.1f} MiB; during: min "
              f"{min(samples) / 1024:.1f}, max {max(samples) / 1024:.1f} MiB over "
              f"{len(samples)} samples; peak (VmHWM) {peak / 1024:.1f} MiB")
        print(f"  row count right: {count == rows}; formula cell neutralized: {injected!r}")
    finally:
        server.terminate()
        server.wait(10)


def measure_retention(app, days):
    """Purge what is older than `days` (the last step: it deletes rows)."""
    with app.app_context():
        app.config["WEBHOOK_RETENTION_DAYS"] = days
        before = db.session.execute(text("SELECT count(*) FROM deliveries")).scalar_one()
        now = utcnow()
        started = time.perf_counter()
        removed = retention.purge(now=now)
        elapsed = time.perf_counter() - started
        after = db.session.execute(text("SELECT count(*) FROM deliveries")).scalar_one()
        older = db.session.execute(text(
            "SELECT count(*) FROM deliveries WHERE created_at < :cutoff"),
            {"cutoff": retention.cutoff(now)}).scalar_one()
        batches = -(-removed["deliveries"] // retention.BATCH_SIZE)
        print(f"\nretention at {days} days: {removed['deliveries']:,} of {before:,} deliveries "
              f"purged in {elapsed:.1f} s, {batches} batches of up to {retention.BATCH_SIZE:,} "
              f"(~{elapsed / max(batches, 1) * 1000:.0f} ms per transaction); {after:,} left, "
              f"{older} of them older than the setting")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--retention-days", type=int, default=0,
                        help="finally purge what is older (deletes rows; 0 = skip)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the rows an earlier run loaded (same --rows)")
    parser.add_argument("--database", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/hookline_bench"))
    args = parser.parse_args()
    redis = EmbeddedRedis().start()
    app = build_app(args.database, redis.url)
    try:
        seed = reuse(app) if args.reuse else load(app, args.rows)
        cursor = deep_cursor(app, seed["org_id"], min(900_000, args.rows - 100))
        time_pages(app, seed, cursor)
        explain(app, seed, cursor)
        measure_export(args.database, redis.url, seed, args.rows)
        if args.retention_days:
            measure_retention(app, args.retention_days)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.redis.close()
        redis.stop()


if __name__ == "__main__":
    main()
