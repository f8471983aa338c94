"""Benchmark: deliveries per second of `python worker.py` to a local receiver.

Run by hand: .venv/bin/python tests/bench/worker_throughput.py [--events 2000] [--workers 1]
Uses a private Redis and a temporary SQLite database unless DATABASE_URL names another one.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.embedded_redis import EmbeddedRedis  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Delivery  # noqa: E402
from app.services import accounts, endpoints, events  # noqa: E402


class FastReceiver:
    """A keep-alive HTTP server that answers 200 in one write and counts what it got."""

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.count += 1
                self.wfile.write(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def delivered():
    db.session.expire_all()
    return db.session.execute(
        select(func.count()).where(Delivery.status == "delivered")
    ).scalar_one()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    options = parser.parse_args()

    workdir = tempfile.TemporaryDirectory()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{workdir.name}/bench.db"
    redis = EmbeddedRedis().start()
    receiver = FastReceiver()
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis.url,
        "HOOKLINE_ENV": "development",
        "SECRET_KEY": "bench-secret-key",
        "WEBHOOK_ALLOW_HTTP": True,
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": True,
    }
    app = create_app(settings)
    workers = []
    try:
        with app.app_context():
            db.drop_all()
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            upgrade()
            org = accounts.create_organization("Bench")
            endpoints.create_endpoint(
                org.id, None,
                {"name": "Local receiver", "url": receiver.url, "events": ["scan.completed"]},
            )
            started = time.monotonic()
            for number in range(options.events):
                events.ingest(org.id, "scan.completed", {"scan_id": f"scan-{number}"})
            ingest_seconds = time.monotonic() - started
            print(f"ingested {options.events} events in {ingest_seconds:.2f} s "
                  f"({options.events / ingest_seconds:.0f}/s)")

            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis.url,
                "HOOKLINE_ENV": "development",
                "SECRET_KEY": "bench-secret-key",
                "WEBHOOK_ALLOW_HTTP": "1",
                "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
            }
            workers = [
                subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for _ in range(options.workers)
            ]
            while receiver.count == 0:
                time.sleep(0.01)
            first = time.monotonic()
            while delivered() < options.events:
                time.sleep(0.05)
            seconds = time.monotonic() - first
            print(f"{options.workers} worker process(es): {options.events} deliveries in "
                  f"{seconds:.2f} s = {options.events / seconds:.0f} deliveries/s")
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait()
        receiver.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.redis.close()
        redis.stop()
        workdir.cleanup()


if __name__ == "__main__":
    main()
