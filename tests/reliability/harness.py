"""Real processes for fault tests: workers and scheduler, a counting receiver, a TCP proxy."""
import asyncio
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import Attempt, Delivery, utcnow

ROOT = Path(__file__).resolve().parents[2]
FINAL = ("delivered", "exhausted")

# Short delays and sweeps so that recovery happens within seconds.
FAST_SETTINGS = {
    "WEBHOOK_ALLOW_HTTP": "1",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_RETRY_DELAYS_STANDARD": "1,1,1,1",
    "WEBHOOK_RETRY_DELAYS_QUICK": "1,1",
    "WEBHOOK_SWEEP_SECONDS": "2",
    "WEBHOOK_SCHEDULER_INTERVAL": "0.2",
}


def wait_until(predicate, timeout, interval=0.1, what="the condition"):
    """Poll predicate() until it is true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Fleet:
    """`python worker.py` and `python worker.py scheduler` processes on one database and Redis."""

    def __init__(self, database_url, redis_url, logs):
        self.database_url = database_url
        self.redis_url = redis_url
        self.logs = Path(logs)
        self.processes = []

    def env(self, **overrides):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("WEBHOOK_") and k not in ("REDIS_URL", "TEST_DATABASE_URL")}
        env.update(FAST_SETTINGS)
        env.update({
            "HOOKLINE_ENV": "development",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": "test-secret-key",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(overrides)
        return env

    def start(self, kind="worker", open_files=None, **overrides):
        """Start one process: kind 'worker' or 'scheduler'; `open_files` lowers its soft
        limit of open files (RLIMIT_NOFILE) to that number, as a host's default may be."""
        args = [sys.executable, str(ROOT / "worker.py")] + ([] if kind == "worker" else [kind])
        log = open(self.logs / f"{kind}-{len(self.processes)}.log", "wb")

        def limit_open_files():
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, hard))

        process = subprocess.Popen(args, cwd=ROOT, env=self.env(**overrides), stdout=log,
                                   stderr=subprocess.STDOUT,
                                   preexec_fn=limit_open_files if open_files else None)
        process.log = log
        process.kind = kind
        self.processes.append(process)
        return process

    def kill(self, process):
        """SIGKILL: no clean-up of any kind, as when a machine dies."""
        process.kill()
        process.wait()

    def alive(self):
        return [p for p in self.processes if p.poll() is None]

    def logs_text(self):
        return "\n".join(
            f"--- {Path(p.log.name).name} (exit {p.poll()})\n"
            + Path(p.log.name).read_text(errors="replace")[-3000:]
            for p in self.processes
        )

    def close(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.log.close()


class QuietServer(ThreadingHTTPServer):
    """A threading HTTP server that does not print a client hanging up (a killed worker)."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class CountingReceiver:
    """An HTTP receiver on 127.0.0.1 that answers per delivery and counts what it accepted.

    `failures` is how many first requests of each delivery get a 500; later ones get 200.
    """

    def __init__(self, failures=0, delay=0.0):
        self.failures = failures
        self.delay = delay
        self.seen = Counter()
        self.accepted = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver._answer(self.headers.get("X-Hookline-Delivery", ""))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _answer(self, delivery_id):
        with self.lock:
            self.seen[delivery_id] += 1
            if self.seen[delivery_id] > self.failures:
                self.accepted[delivery_id] += 1
                return 200
            return 500

    @property
    def requests(self):
        with self.lock:
            return sum(self.seen.values())

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class ManyPortsReceiver:
    """One HTTP/1.1 receiver listening on `ports` ports of 127.0.0.1 (each a receiver of its
    own to a client's connection pool), answering 200 on kept-alive connections; counts the
    requests each port got."""

    def __init__(self, ports):
        self.counts = Counter()
        self.loop = asyncio.new_event_loop()
        self.servers = []
        self.serving = set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.ports = asyncio.run_coroutine_threadsafe(self._listen(ports), self.loop).result(30)

    async def _listen(self, ports):
        for _ in range(ports):
            server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.servers.append(server)
        return [server.sockets[0].getsockname()[1] for server in self.servers]

    async def _serve(self, reader, writer):
        port = writer.get_extra_info("sockname")[1]
        self.serving.add(asyncio.current_task())
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                self.counts[port] += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self.serving.discard(asyncio.current_task())

    def stop(self):
        async def close():
            for server in self.servers:
                server.close()
            for task in list(self.serving):
                task.cancel()
            await asyncio.gather(*self.serving, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class TcpProxy:
    """A TCP relay on 127.0.0.1 to a target; stop() cuts every connection, start() resumes."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.listener = None
        self.connections = []
        self.lock = threading.Lock()

    def start(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        """Refuse new connections and reset the open ones."""
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            connections, self.connections = self.connections, []
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def in_flight():
    """Deliveries leased by a worker right now: attempts that may be under way."""
    db.session.remove()
    now = utcnow()
    return db.session.execute(
        select(func.count(Delivery.id)).where(
            Delivery.status.in_(("pending", "failed")), Delivery.locked_until > now
        )
    ).scalar_one()


def statuses(delivery_ids):
    """delivery id -> status, as stored now."""
    db.session.remove()
    rows = db.session.execute(select(Delivery.id, Delivery.status)).all()
    wanted = set(delivery_ids)
    return {row.id: row.status for row in rows if row.id in wanted}


def all_final(delivery_ids):
    return all(status in FINAL for status in statuses(delivery_ids).values())


def attempt_count():
    db.session.remove()
    return db.session.execute(select(func.count(Attempt.id))).scalar_one()


def tally(delivery_ids, receiver):
    """What a fault cost: deliveries not final or never accepted (lost) and extra 2xx sends."""
    final = statuses(delivery_ids)
    lost = [i for i in delivery_ids if final.get(i) not in FINAL or receiver.accepted[i] < 1]
    duplicates = sum(max(0, receiver.accepted[i] - 1) for i in delivery_ids)
    # A 2xx the database also recorded twice is a double send, not a crash's lost record.
    recorded = Counter(db.session.execute(
        select(Attempt.delivery_id).where(Attempt.succeeded.is_(True))).scalars())
    recorded_twice = sum(1 for i in delivery_ids if recorded[i] > 1)
    per_status = defaultdict(int)
    for status in final.values():
        per_status[status] += 1
    return {"lost": len(lost), "duplicates": duplicates, "statuses": dict(per_status),
            "recorded_twice": recorded_twice, "lost_ids": lost[:5],
            "duplicate_ids": [i for i in delivery_ids if receiver.accepted[i] > 1][:5]}
