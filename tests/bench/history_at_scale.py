"""Benchmark: history, statistics, CSV export and retention at 10,000,000 deliveries.

Run with `make bench-scale` (not collected by pytest), or by hand:
    .venv/bin/python tests/bench/history_at_scale.py [--rows 10000000] [--reuse]
        [--export-rows 1000000] [--retention-days 89] [--database URL]
The database (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/hookline_bench) is
created if missing, emptied and rebuilt through the migrations; a second database with the
suffix `_small` gets 1,000 deliveries the same way, for the ratios. Deliveries are
bulk-loaded oldest first in chunks of INSERT … SELECT over generate_series (the indexes
already in place), with one attempt for every hundredth delivery and the daily series, then
VACUUM ANALYZE. Pages are timed with the Flask test client; EXPLAIN (ANALYZE, BUFFERS) of
the history queries is printed; a real gunicorn process streams about `--export-rows` rows
as CSV while its RSS is sampled; finally retention purges what is older than
`--retention-days` (that deletes rows: run it last). The last line is every figure as JSON.
"""
import argparse
import csv
import json
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
from sqlalchemy import bindparam, create_engine, event, func, select, text  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import catalog, create_app  # noqa: E402
from app.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Endpoint, EndpointDailyStat, Organization, utcnow  # noqa: E402
from app.services import accounts, history, retention, tokens  # noqa: E402
from app.services.delivery_state import FINAL  # noqa: E402

PASSWORD = "bench-password-1"
INJECTION = "=HYPERLINK(\"http://evil.example\",\"click\")"
SPAN_DAYS = 90
CHUNK = 500_000
SMALL_ROWS = 1_000

# Row i (1 = newest) is created i × step seconds ago; its id and event id grow with time,
# so each chunk appends to the primary key, like the uuid7-ordered ids a busy table sees
# at the right edge of ix_deliveries_org_created.
LOAD_SQL = """
INSERT INTO deliveries (id, org_id, endpoint_id, event_id, event_type, payload, status,
                        attempt_count, next_attempt_at, locked_until, next_trigger,
                        last_status_code, last_error, created_at, updated_at, delivered_at)
SELECT k.id, :org_id,
       (CAST(:endpoints AS text[]))[1 + i % :endpoint_count],
       k.event_id,
       (CAST(:types AS text[]))[1 + i % :type_count],
       '{"event_id":"' || k.event_id || '","data":{"n":' || i || '}}',
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
FROM generate_series(CAST(:last AS bigint), CAST(:first AS bigint), -1) AS i
CROSS JOIN LATERAL (SELECT CAST(:now AS timestamptz)
                           - i * CAST(:step AS double precision) * interval '1 second' AS at) c
CROSS JOIN LATERAL (SELECT lpad(to_hex(:rows - i + 1), 12, '0') AS hex) h
CROSS JOIN LATERAL (SELECT '00000000-0000-4000-8000-' || h.hex AS id,
                           '00000000-0000-4000-9000-' || h.hex AS event_id) k
CROSS JOIN LATERAL (SELECT CASE WHEN i % 100 < 86 THEN 'delivered'
                                WHEN i % 100 < 94 THEN 'failed'
                                WHEN i % 100 < 98 THEN 'exhausted'
                                WHEN i % 100 < 99 THEN 'pending'
                                ELSE 'cancelled' END AS status) AS s
"""
# One attempt for every hundredth delivery of the chunk just loaded.
ATTEMPTS_SQL = """
INSERT INTO attempts (org_id, delivery_id, endpoint_id, number, trigger, started_at,
                      duration_ms, request_url, response_status, succeeded,
                      request_truncated, response_truncated)
SELECT org_id, id, endpoint_id, 1, 'auto', created_at, 150,
       'https://hooks.example.test/', last_status_code, status = 'delivered', false, false
FROM deliveries
WHERE org_id = :org_id AND created_at >= :since AND created_at <= :until
  AND right(id, 2) = '00'
"""


def build_app(database_url, redis_url):
    return create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
        "HOOKLINE_ENV": "development", "SECRET_KEY": "bench-secret", "WTF_CSRF_ENABLED": False,
    })


def ensure_database(database_url):
    """Create the database if the server does not have it yet."""
    url = make_url(database_url)
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                             {"name": url.database}).scalar()
        if not found:
            conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    engine.dispose()


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
        now = utcnow()
        step = SPAN_DAYS * 86400 / rows
        started = time.perf_counter()
        # Oldest chunk first: ix_deliveries_org_created and the keys grow at their right edge.
        for last in range(rows, 0, -CHUNK):
            first = max(1, last - CHUNK + 1)
            with db.engine.begin() as conn:
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                conn.execute(text(LOAD_SQL), {
                    "org_id": org.id, "endpoints": ids, "endpoint_count": len(ids),
                    "types": [e.type for e in catalog.CATALOG],
                    "type_count": len(catalog.CATALOG), "rows": rows, "first": first,
                    "last": last, "now": now, "step": step,
                    # A formula cell inside the exported window (16 days old).
                    "injected": int(16 * 86400 / step),
                    "injection": INJECTION,
                })
                conn.execute(text(ATTEMPTS_SQL), {
                    "org_id": org.id, "since": now - timedelta(seconds=last * step),
                    "until": now - timedelta(seconds=first * step),
                })
            done = rows - first + 1
            print(f"  loaded {done:,} of {rows:,} ({time.perf_counter() - started:.0f} s)",
                  flush=True)
        per_endpoint = rows // len(ids)
        today = now.date()
        for endpoint in endpoint_rows:
            endpoint.total_attempts = per_endpoint * 12 // 10
            endpoint.successful_attempts = per_endpoint * 86 // 100
            endpoint.failed_attempts = endpoint.total_attempts - endpoint.successful_attempts
            endpoint.last_attempt_at = now
            endpoint.last_attempt_ok = True
            for back in range(SPAN_DAYS):
                db.session.add(EndpointDailyStat(
                    endpoint_id=endpoint.id, org_id=org.id, day=today - timedelta(days=back),
                    successful=per_endpoint // SPAN_DAYS * 86 // 100,
                    failed=per_endpoint // SPAN_DAYS // 7))
        db.session.commit()
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            # Write the load's dirty pages now, not while pages are timed.
            conn.exec_driver_sql("CHECKPOINT")
        vacuumed = time.perf_counter() - started
        print(f"loaded {rows:,} deliveries in {loaded:.1f} s, VACUUM ANALYZE and CHECKPOINT "
              f"{vacuumed:.1f} s",
              flush=True)
        return {"org_id": org.id, "admin": admin.email, "token": token, "endpoints": ids,
                "load_s": round(loaded, 1), "vacuum_analyze_s": round(vacuumed, 1)}


def reuse(app):
    """The seed of a database loaded by an earlier run (with a fresh API token), migrated
    to the newest revision."""
    with app.app_context():
        upgrade()
        org = db.session.execute(select(Organization)).scalars().one()
        _, token = tokens.create_token(org.id, "bench")
        ids = db.session.execute(
            select(Endpoint.id).where(Endpoint.org_id == org.id).order_by(Endpoint.name)
        ).scalars().all()
        return {"org_id": org.id, "admin": "admin@bench.test", "token": token,
                "endpoints": ids}


def count_rows(app):
    with app.app_context():
        return db.session.execute(text("SELECT count(*) FROM deliveries")).scalar_one()


def deep_cursor(app, org_id, depth):
    """The cursor a reader holds after paging `depth` rows deep."""
    with app.app_context():
        row = db.session.execute(text(
            "SELECT created_at, id FROM deliveries WHERE org_id = :org "
            "ORDER BY created_at DESC, id DESC OFFSET :depth LIMIT 1"),
            {"org": org_id, "depth": depth}).one()
        return history.encode_cursor(row.created_at, row.id)


def pages(seed, cursor):
    """{label: path} of the pages timed, the same at every size."""
    webhook = seed["endpoints"][1]
    since = (utcnow() - timedelta(days=30)).date().isoformat()
    until = (utcnow() - timedelta(days=20)).date().isoformat()
    base = "/organization/webhooks/history"
    return {
        "history": base,
        "history_status": base + "?status=exhausted",
        "history_event_type": base + "?eventType=scan.failed",
        "history_status_event_type": base + "?status=exhausted&eventType=scan.failed",
        "history_rare": base + "?status=cancelled&eventType=user.login_failed",
        "history_webhook": base + f"?webhook={webhook}",
        "history_webhook_dates": base + f"?webhook={webhook}&from={since}&to={until}",
        "history_q_name": base + "?q=pager",
        "history_q_id": base + "?q=00000000-0000-4000-9000-000000000064",
        "history_deep_cursor": base + f"?cursor={cursor}",
        "stats": "/organization/webhooks/stats",
        "api_list": "/api/sch/org/webhook-deliveries?limit=100",
    }


class SqlClock:
    """Milliseconds spent in the database's cursor calls of an engine, to tell a page's SQL
    from its rendering."""

    def __init__(self, engine):
        self.total = 0.0
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn, *_):
        conn.info["sql_started"] = time.perf_counter()

    def after(self, conn, *_):
        self.total += (time.perf_counter() - conn.info.pop("sql_started")) * 1000


class Site:
    """One loaded database with a logged-in client, timed page by page."""

    def __init__(self, name, app, seed, cursor):
        self.name, self.app, self.seed, self.cursor = name, app, seed, cursor
        self.client = app.test_client()
        response = self.client.post("/login", data={"email": seed["admin"],
                                                    "password": PASSWORD})
        assert response.status_code == 302, response.status_code
        with app.app_context():
            self.clock = SqlClock(db.engine)
        self.medians, self.sql, self.first, self.timings = {}, {}, {}, {}

    def get(self, label):
        """Request one page; returns (ms, SQL ms, response)."""
        path = pages(self.seed, self.cursor)[label]
        headers = {"Authorization": f"Bearer {self.seed['token']}"}
        self.clock.total = 0.0
        started = time.perf_counter()
        response = self.client.get(path, headers=headers if path.startswith("/api") else {})
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, response.status_code)
        return elapsed, self.clock.total, response


def time_pages(sites, runs=15):
    """Time every page on every site, one request to each site in turn, so that the
    machine's drift hits them alike: the first request apart, then the medians of `runs`."""
    for label in pages(sites[0].seed, sites[0].cursor):
        timings = {site.name: ([], []) for site in sites}
        last = {}
        for n in range(runs + 1):
            for site in sites:
                elapsed, sql, last[site.name] = site.get(label)
                if n:
                    timings[site.name][0].append(elapsed)
                    timings[site.name][1].append(sql)
                else:
                    site.first[label] = round(elapsed, 1)
        for site in sites:
            pages_ms, sql_ms = timings[site.name]
            response = last[site.name]
            site.medians[label] = round(statistics.median(pages_ms), 2)
            site.sql[label] = round(statistics.median(sql_ms), 2)
            shown = (len(response.get_json()["data"]) if response.is_json
                     else max(response.get_data().count(b"<tr") - 1, 0))
            p90 = statistics.quantiles(pages_ms, n=10)[-1]
            print(f"  {site.name:6s} {label:28s} median {site.medians[label]:7.1f}  p90 "
                  f"{p90:7.1f}  max {max(pages_ms):7.1f}  SQL {site.sql[label]:5.1f}  first "
                  f"request {site.first[label]:7.1f}  rows shown {shown}", flush=True)


def explain(app, seed, cursor):
    """Print EXPLAIN (ANALYZE, BUFFERS) of the history query under several filters, and of
    the export query."""
    from app.services import export

    webhook = seed["endpoints"][1]
    since = (utcnow() - timedelta(days=30)).date().isoformat()
    until = (utcnow() - timedelta(days=20)).date().isoformat()
    cases = {
        "first page": (history.HistoryFilters(), None),
        "status": (history.HistoryFilters(status="exhausted"), None),
        "event type": (history.HistoryFilters(event_type="scan.failed"), None),
        "status + event type": (history.HistoryFilters(status="exhausted",
                                                       event_type="scan.failed"), None),
        "rare status + event type": (history.HistoryFilters(
            status="cancelled", event_type="user.login_failed"), None),
        "webhook": (history.HistoryFilters(endpoint_id=webhook), None),
        "webhook + 10-day date range": (history.HistoryFilters(
            endpoint_id=webhook, start=history.parse_moment(since),
            end=history.parse_moment(until, end_of_day=True)), None),
        "q (endpoint name)": (history.HistoryFilters(query="pager"), None),
        "deep cursor": (history.HistoryFilters(), cursor),
    }
    with app.app_context():
        statements = {label: history.page_statement(seed["org_id"], filters, page_cursor)
                      for label, (filters, page_cursor) in cases.items()}
        statements["export (the query COPY runs, in the export's settings)"] = (
            export.export_statement(seed["org_id"], export_filters()))
        for label, statement in statements.items():
            compiled = statement.compile(dialect=postgresql.psycopg.dialect(),
                                         compile_kwargs={"render_postcompile": True})
            with db.engine.begin() as conn:
                if label.startswith("export"):
                    for setting in export.POSTGRESQL_SETTINGS:
                        conn.exec_driver_sql(setting)
                plan = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), compiled.params).scalars()
                print(f"\nEXPLAIN — {label}:")
                for line in plan:
                    print("  " + line)


def export_window():
    """The `from`/`to` dates of the export: nine whole days, about 1/10 of the 90 loaded."""
    today = utcnow().date()
    return (today - timedelta(days=20)).isoformat(), (today - timedelta(days=12)).isoformat()


def export_filters():
    since, until = export_window()
    filters, errors = history.read_filters(None, {"from": since, "to": until})
    assert not errors, errors
    return filters


def rss_kib(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure_export(app, database_url, redis_url, seed):
    """Stream the export of the nine-day window through one gunicorn worker; returns its
    figures."""
    since, until = export_window()
    with app.app_context():
        expected = db.session.execute(
            select(func.count()).select_from(
                history.filtered(seed["org_id"], export_filters()).subquery())
        ).scalar_one()
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
        url = f"{base}/api/sch/org/webhook-deliveries/export.csv?from={since}&to={until}"
        with tempfile.NamedTemporaryFile("wb+", suffix=".csv") as out:
            started = time.perf_counter()
            with requests.get(url, headers=headers, stream=True, timeout=600) as response:
                assert response.status_code == 200, response.status_code
                for n, chunk in enumerate(response.iter_content(256 * 1024)):
                    out.write(chunk)
                    if n % 20 == 0:
                        samples.append(rss_kib(worker, "VmRSS"))
            elapsed = time.perf_counter() - started
            after = rss_kib(worker, "VmRSS")
            peak = rss_kib(worker, "VmHWM")
            size = out.tell()
            out.seek(0)
            reader = csv.reader(line.decode() for line in out)
            header = next(reader)
            count, injected = 0, None
            for row in reader:
                count += 1
                if row[9].startswith("'="):
                    injected = row[9]
        print(f"\nCSV export through gunicorn, from={since} to={until}:")
        print(f"  {count:,} data rows (+ header {header[:3]}…), {size / 2**20:.0f} MiB "
              f"in {elapsed:.1f} s = {count / elapsed:,.0f} rows/s")
        print(f"  web worker RSS before {before / 1024:.1f} MiB; during: max "
              f"{max(samples) / 1024:.1f} MiB over {len(samples)} samples; after "
              f"{after / 1024:.1f}; peak (VmHWM) {peak / 1024:.1f} MiB")
        print(f"  rows as the filter selects: {count == expected} ({expected:,}); "
              f"formula cell neutralized: {injected!r}", flush=True)
        return {"rows": count, "expected_rows": expected, "seconds": round(elapsed, 2),
                "rows_per_s": round(count / elapsed), "mib": round(size / 2**20, 1),
                "rss_before_mib": round(before / 1024, 1),
                "rss_growth_mib": round((max(max(samples), after, peak) - before) / 1024, 1),
                "neutralized": injected}
    finally:
        server.terminate()
        server.wait(10)


def measure_retention(app, days):
    """Purge what is older than `days` (the last step: it deletes rows); returns figures."""
    with app.app_context():
        app.config["WEBHOOK_RETENTION_DAYS"] = days
        now = utcnow()
        limit = retention.cutoff(now)

        def older(final):
            test = "IN" if final else "NOT IN"
            return db.session.execute(text(
                f"SELECT count(*) FROM deliveries WHERE created_at < :cutoff "
                f"AND status {test} :final"
            ).bindparams(bindparam("final", expanding=True)),
                {"cutoff": limit, "final": list(FINAL)}).scalar_one()

        kept_before = older(final=False)
        started = time.perf_counter()
        removed = retention.purge(now=now)
        elapsed = time.perf_counter() - started
        final_left, kept_after = older(final=True), older(final=False)
        db.session.commit()
        batches = -(-removed["deliveries"] // retention.BATCH_SIZE)
        print(f"\nretention at {days} days: {removed['deliveries']:,} final deliveries purged "
              f"in {elapsed:.1f} s, {batches} batches of up to {retention.BATCH_SIZE:,} "
              f"(~{elapsed / max(batches, 1) * 1000:.0f} ms per transaction); final ones "
              f"left older than the cutoff: {final_left}; not final (kept): {kept_before:,} "
              f"before, {kept_after:,} after", flush=True)
        return {"days": days, "purged": removed["deliveries"], "seconds": round(elapsed, 1),
                "batches": batches, "final_left": final_left,
                "non_final_kept": kept_after == kept_before, "non_final": kept_after}


def prepare(database_url, redis_url, rows, reuse_rows, depth):
    """Load (or reuse) a database; returns (app, seed, deliveries present, deep cursor)."""
    ensure_database(database_url)
    app = build_app(database_url, redis_url)
    seed = reuse(app) if reuse_rows else load(app, rows)
    present = count_rows(app)
    print(f"{present:,} deliveries in {make_url(database_url).database}", flush=True)
    return app, seed, present, deep_cursor(app, seed["org_id"], min(depth, present - 100))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--retention-days", type=int, default=0,
                        help="finally purge what is older (deletes rows; 0 = skip)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the rows an earlier run loaded (migrating to the newest)")
    parser.add_argument("--database", default=os.environ.get(
        "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/hookline_bench"))
    args = parser.parse_args()
    small_url = make_url(args.database)
    small_url = small_url.set(database=small_url.database + "_small")
    small_url = small_url.render_as_string(hide_password=False)
    redis = EmbeddedRedis().start()
    apps = []
    try:
        small, small_seed, small_rows, small_cursor = prepare(
            small_url, redis.url, SMALL_ROWS, args.reuse, SMALL_ROWS // 2)
        apps.append(small)
        app, seed, large_rows, cursor = prepare(args.database, redis.url, args.rows,
                                                args.reuse, 9_000_000)
        apps.append(app)
        print("\npage timings (Flask test client, 15 runs after 1 warm-up, ms), the two "
              "databases in turn:", flush=True)
        sites = [Site("small", small, small_seed, small_cursor), Site("large", app, seed, cursor)]
        time_pages(sites)
        small_ms, small_sql = sites[0].medians, sites[0].sql
        large_ms, large_sql, large_first = sites[1].medians, sites[1].sql, sites[1].first
        ratios = {label: round(large_ms[label] / small_ms[label], 2) for label in large_ms}
        sql_ratios = {label: round(large_sql[label] / max(small_sql[label], 0.01), 2)
                      for label in large_sql}
        print(f"\nmedian ms at {large_rows:,} ÷ at {small_rows:,} deliveries (page; its SQL):")
        for label, ratio in ratios.items():
            print(f"  {label:28s} {large_ms[label]:7.1f} ÷ {small_ms[label]:6.1f} = {ratio:.2f}"
                  f"   SQL {large_sql[label]:5.2f} ÷ {small_sql[label]:5.2f} = "
                  f"{sql_ratios[label]:.2f}")
        explain(app, seed, cursor)
        exported = measure_export(app, args.database, redis.url, seed)
        purged = (measure_retention(app, args.retention_days)
                  if args.retention_days else None)
        print(json.dumps({
            "rows": large_rows, "small_rows": small_rows,
            "load_s": seed.get("load_s"), "vacuum_analyze_s": seed.get("vacuum_analyze_s"),
            "median_ms": large_ms, "small_median_ms": small_ms, "ratio": ratios,
            "sql_median_ms": large_sql, "small_sql_median_ms": small_sql,
            "sql_ratio": sql_ratios,
            "first_request_ms": large_first,
            "export": exported, "retention": purged,
        }))
    finally:
        for app in apps:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            app.redis.close()
        redis.stop()


if __name__ == "__main__":
    main()
