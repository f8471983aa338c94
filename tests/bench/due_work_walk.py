"""What one look for due work costs when many endpoints hold waiting deliveries and none is due.

Each endpoint gets one failed delivery whose retry is two hours away (as a dead receiver's
deliveries wait between attempts); the look then finds nothing, and its time is what every
worker pays per look while such endpoints exist. PostgreSQL only (DATABASE_URL or
TEST_DATABASE_URL names the server); runs on a throwaway database, dropped afterwards.

    .venv/bin/python -m tests.bench.due_work_walk --endpoints 1000 10000
"""
import argparse
import json
import os
import subprocess
import time

from sqlalchemy import text

from .__main__ import _postgres_base

LOOKS = 10


def _measure(count):
    from app import create_app
    from app.extensions import db
    from app.services import accounts, due_work
    from tests import factories

    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        org = accounts.create_organization(f"Walk {count}")
        factories.make_endpoints_holding_retries(org, count)
        db.session.execute(text("ANALYZE deliveries"))
        db.session.execute(text("ANALYZE endpoints"))
        db.session.commit()
        for _ in range(3):
            due_work.candidates(25)
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(LOOKS):
            offered = due_work.candidates(25)
        look_ms = (time.perf_counter() - started) * 1000 / LOOKS
        python_ms = (time.process_time() - cpu) * 1000 / LOOKS
        db.session.remove()
        db.engine.dispose()
    app.redis.close()
    return {"endpoints": count, "look_ms": round(look_ms, 1),
            "python_ms": round(python_ms, 1), "offered": len(offered)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    base = _postgres_base()
    if base is None:
        raise SystemExit("Set DATABASE_URL or TEST_DATABASE_URL to a PostgreSQL server")
    results = []
    for count in args.endpoints:
        name = f"hookline_walk_{os.getpid()}_{count}"
        subprocess.run(["psql", f"{base}/postgres", "-qc", f"CREATE DATABASE {name}"],
                       check=True)
        os.environ["DATABASE_URL"] = f"{base}/{name}"
        os.environ.setdefault("HOOKLINE_ENV", "development")
        try:
            results.append(_measure(count))
        finally:
            subprocess.run(["psql", f"{base}/postgres", "-qc",
                            f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)
        last = results[-1]
        print(f"{count} endpoints waiting, none due: {last['look_ms']} ms a look "
              f"({last['python_ms']} ms of it in Python), {last['offered']} offered")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
