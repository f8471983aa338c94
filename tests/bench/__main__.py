"""`make bench`: end-to-end figures of the delivery engine against the raw POST floor.

Starts its own receiver, gunicorn, two workers and a scheduler on a throwaway database
(PostgreSQL when DATABASE_URL/TEST_DATABASE_URL names one, else SQLite) and Redis (REDIS_URL, else
an embedded one); prints a table of figures, targets and ratios; the last line is JSON.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from app.embedded_redis import EmbeddedRedis, free_port

from .receiver import BenchReceiver, capacity

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def _postgres_base():
    for name in ("TEST_DATABASE_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("postgres://", "postgresql")):
            return url.rsplit("/", 1)[0]
    return None


class Stack:
    """Database, Redis, gunicorn, workers and scheduler for one benchmark run."""

    def __init__(self, workers=2):
        self.workers = workers
        self.procs = {}
        self.redis = None
        self.tmp = tempfile.TemporaryDirectory(prefix="hookline-bench-")
        self.pg_base = _postgres_base()
        self.db_name = f"hookline_bench_{os.getpid()}"

    def env(self):
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            WEBHOOK_ALLOW_HTTP="1",
            WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
            WEBHOOK_RETRY_DELAYS_QUICK="2,4",
            HOOKLINE_ENV="development",
            SECRET_KEY="bench-secret",
            # One token drives every scenario: counted as in production, never refused.
            API_RATE_LIMIT="100000000 per minute",
            # The fan-out scenario's 1,000 endpoints in one organization.
            MAX_ENDPOINTS_PER_ORG="1000",
            PYTHONUNBUFFERED="1",
        )
        return env

    def flask(self, *args):
        return subprocess.run(
            [PY, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=self.env(),
            check=True, capture_output=True, text=True,
        ).stdout

    def start(self):
        """Start everything; on any failure, stop what was started and re-raise."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        self.log = None
        if self.pg_base:
            self._psql(f"CREATE DATABASE {self.db_name}")
            self.database_url = f"{self.pg_base}/{self.db_name}"
        else:
            self.database_url = f"sqlite:///{self.tmp.name}/bench.db"
        if os.environ.get("REDIS_URL"):
            self.redis_url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/8"
            from redis import Redis

            Redis.from_url(self.redis_url).flushdb()
        else:
            self.redis = EmbeddedRedis().start()
            self.redis_url = self.redis.url
        self.flask("db", "upgrade")
        self.org_id = self.flask("create-org", "Bench").strip()
        self.token = self.flask("create-token", "--org", self.org_id, "--name", "bench").split()[-1]
        # A second organization, for the noisy-neighbour scenario.
        self.neighbour_id = self.flask("create-org", "Neighbour").strip()
        self.neighbour_token = self.flask(
            "create-token", "--org", self.neighbour_id, "--name", "bench"
        ).split()[-1]
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        log = open(Path(self.tmp.name) / "stack.log", "w")  # noqa: SIM115
        self.log = log
        self._spawn("web", ["gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{self.port}",
                            "--workers", "2", "--threads", "8", "--log-level", "warning"])
        self.start_workers()
        self._spawn("scheduler", [PY, "worker.py", "scheduler"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("web process did not become healthy; see " + log.name)

    def start_workers(self):
        for n in range(self.workers):
            self._spawn(f"worker{n}", [PY, "worker.py"])

    def stop_workers(self):
        """Stop the workers (the queue and the database keep what is due)."""
        for n in range(self.workers):
            proc = self.procs.pop(f"worker{n}")
            proc.terminate()
            proc.wait(30)

    def _spawn(self, name, cmd):
        bin_dir = str(Path(PY).parent)
        env = self.env()
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        self.procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log,
                                            stderr=subprocess.STDOUT)

    def rss_mb(self, name):
        status = Path(f"/proc/{self.procs[name].pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS"))
        return int(line.split()[1]) / 1024

    def _psql(self, sql):
        subprocess.run(["psql", f"{self.pg_base}/postgres", "-qc", sql], check=True,
                       capture_output=True)

    def stop(self):
        """Stop every process, the embedded Redis and the throwaway database; idempotent."""
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs = {}
        if self.redis:
            self.redis.stop()
        if self.pg_base:
            try:
                self._psql(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
            except subprocess.CalledProcessError:
                pass  # never created, or the server is gone: nothing of ours to drop
        if self.log:
            self.log.close()
        self.tmp.cleanup()


class Api:
    def __init__(self, stack, token=None):
        self.base = stack.base + "/api/sch/org"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token or stack.token}"

    def create_endpoint(self, url, events, policy="standard"):
        response = self.session.post(f"{self.base}/webhooks", json={
            "name": "bench", "url": url, "events": events, "retryPolicy": policy,
        }, timeout=30)
        response.raise_for_status()
        return response.json()["id"]

    def delete_all(self):
        while True:
            page = self.session.get(f"{self.base}/webhooks?limit=100", timeout=30)
            page.raise_for_status()
            found = page.json()["data"]
            if not found:
                return
            for endpoint in found:
                self.session.delete(f"{self.base}/webhooks/{endpoint['id']}", timeout=30)

    def emit(self, event_type, data=None, session=None):
        response = (session or self.session).post(
            f"{self.base}/events", json={"eventType": event_type, "data": data or {}}, timeout=30
        )
        response.raise_for_status()
        return response.json()["eventId"]


def _cpu_seconds(pid):
    """User + system CPU seconds of one process, or 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid):
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return found + [grandchild for child in found for grandchild in _children(child)]


def _named(name):
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() == name:
                pids.append(int(entry.name))
        except OSError:
            pass
    return pids


def cpu_snapshot(stack, receiver):
    """CPU seconds used so far by each part of the benchmark, by process group.

    PostgreSQL and Redis count every process of theirs on the machine, so the figures are
    only meaningful on a machine where nothing else uses them.
    """
    groups = {"web": [stack.procs["web"].pid, *_children(stack.procs["web"].pid)]}
    for name, proc in stack.procs.items():
        if name != "web":
            groups[name] = [proc.pid]
    groups["receiver"] = receiver.pids()
    groups["load generator"] = [os.getpid()]
    groups["postgres"] = _named("postgres") if stack.pg_base else []
    groups["redis"] = _named("redis-server")
    return {name: sum(_cpu_seconds(pid) for pid in pids) for name, pids in groups.items()}


def cpu_per_delivery(before, after, deliveries):
    """CPU milliseconds per delivery of each process group between two snapshots."""
    return {name: round((after[name] - before[name]) * 1000 / deliveries, 3) for name in after}


def hookline_ms(spent):
    """Of cpu_per_delivery's figures, the sum of Hookline's, PostgreSQL's and Redis's (the
    bench's own receiver and load generator left out)."""
    return sum(ms for name, ms in spent.items() if name not in ("receiver", "load generator"))


def _payload(n):
    return {"scan_id": f"scan-{n}", "project": {"id": "p1", "name": "Bench"}, "issues_found": n}


def raw_floor(receiver, count):
    """Single-threaded requests.Session POST loop of default-size payloads: POST/s."""
    session = requests.Session()
    body = json.dumps({"event_id": "x" * 36, "event_type": "scan.completed",
                       "timestamp": "2025-01-15T14:30:00.000Z", "data": _payload(1)})
    headers = {"Content-Type": "application/json"}
    started = time.perf_counter()
    for _ in range(count):
        session.post(f"{receiver.url}/raw", data=body, headers=headers, timeout=10)
    elapsed = time.perf_counter() - started
    return count / elapsed, elapsed


def sustained(stack, api, receiver, events, endpoints=10):
    api.delete_all()
    for _ in range(endpoints):
        api.create_endpoint(f"{receiver.url}/sustained", ["scan.completed"])
    session = requests.Session()
    receiver.reset(session)
    expected = events * endpoints
    started = time.time()
    sessions = [requests.Session() for _ in range(8)]
    for s in sessions:
        s.headers.update(api.session.headers)

    def ingest(i):
        for n in range(i, events, 8):
            api.emit("scan.completed", _payload(n), session=sessions[i])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(ingest, range(8)))
    ingest_done = time.time()
    seen = receiver.wait_for(session, expected, timeout=max(120, expected / 50))
    last = max(a[0] for a in receiver.stats(session))
    return {
        "deliveries": expected,
        "received": seen,
        "seconds": last - started,
        "rate": seen / (last - started),
        "ingest_seconds": ingest_done - started,
    }


def latency(api, receiver, seconds, rate=50):
    api.delete_all()
    api.create_endpoint(f"{receiver.url}/latency", ["scan.started"])
    session = requests.Session()
    receiver.reset(session)
    accepted = {}
    started = time.perf_counter()
    n = 0
    while time.perf_counter() - started < seconds:
        due = started + n / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        event_id = api.emit("scan.started", _payload(n))
        accepted[event_id] = time.time()
        n += 1
    receiver.wait_for(session, n, timeout=60)
    arrivals = {a[1]: a[0] for a in receiver.stats(session)}
    samples = sorted((arrivals[e] - t) * 1000 for e, t in accepted.items() if e in arrivals)
    return {
        "events": n,
        "received": len(samples),
        "p50_ms": statistics.median(samples),
        "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
    }


def latency_under_load(api, receiver, seconds, rate, endpoints=10):
    """Ingest → receiver latency of every delivery while events arrive at `rate` a second
    (open loop: each is sent at its time whatever the answers before it), each event to
    `endpoints` endpoints as in the sustained scenario."""
    api.delete_all()
    for _ in range(endpoints):
        api.create_endpoint(f"{receiver.url}/load", ["scan.started"])
    receiver.reset()
    count = int(seconds * rate)
    threads = 16
    sessions = [requests.Session() for _ in range(threads)]
    for s in sessions:
        s.headers.update(api.session.headers)
    accepted = {}
    started = time.perf_counter() + 0.2

    def run(i):
        for n in range(i, count, threads):
            pause = started + n / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            sent_at = time.time()
            accepted[api.emit("scan.started", _payload(n), session=sessions[i])] = sent_at

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, range(threads)))
    receiver.wait_for(None, count * endpoints, timeout=60)
    samples = sorted(
        (arrived - accepted[event_id]) * 1000
        for arrived, event_id, _, path in receiver.stats()
        if path.startswith("/load") and event_id in accepted
    )
    return {
        "rate_per_s": rate * endpoints, "events": count, "received": len(samples),
        "p50_ms": statistics.median(samples),
        "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
    }


def fan_out(api, receiver, endpoints, raw_rate):
    api.delete_all()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: api.create_endpoint(f"{receiver.url}/fan", ["sarif.ingested"]),
                      range(endpoints)))
    session = requests.Session()
    receiver.reset(session)
    started = time.time()
    api.emit("sarif.ingested", {"ingestion_id": "sarif-1", "results": 1})
    accepted = time.time()
    seen = receiver.wait_for(session, endpoints, timeout=120)
    arrivals = sorted(a[0] for a in receiver.stats(session))
    elapsed = arrivals[-1] - started
    raw_time = endpoints / raw_rate
    return {"endpoints": endpoints, "received": seen, "seconds": elapsed,
            "raw_seconds": raw_time, "ratio": elapsed / raw_time,
            "accepted_seconds": accepted - started, "first_seconds": arrivals[0] - started,
            "half_seconds": arrivals[len(arrivals) // 2] - started}


def ingest_ratio(stack, api, receiver, seconds, threads=8):
    """The API's ingest rate against its catalog GET, both with the workers idle.

    With the workers running, each event's 10 deliveries are sent on the same two cores
    while the next events come in, so that figure (`events_per_s_while_delivering`) is
    the whole system's, not the API's. For the API's own rate the workers stop while
    events come in, then start again; every delivery must still arrive."""
    api.delete_all()
    endpoints = 10
    for _ in range(endpoints):
        api.create_endpoint(f"{receiver.url}/ingest", ["issue.assigned"])
    session = requests.Session()
    receiver.reset(session)

    def hammer(call):
        stop_at = time.perf_counter() + seconds
        counts = [0] * threads

        def run(i):
            s = requests.Session()
            s.headers.update(api.session.headers)
            while time.perf_counter() < stop_at:
                call(s)
                counts[i] += 1

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, range(threads)))
        return sum(counts)

    def emit(s):
        s.post(f"{api.base}/events", json={
            "eventType": "issue.assigned",
            "data": {"issue_id": "i", "assigned_to": {"id": "u"}}}, timeout=30,
        ).raise_for_status()

    catalog = hammer(lambda s: s.get(f"{api.base}/webhook-events", timeout=30))
    while_delivering = hammer(emit)
    receiver.wait_for(session, while_delivering * endpoints, timeout=120)
    stack.stop_workers()
    alone = hammer(emit)
    stack.start_workers()
    expected = (while_delivering + alone) * endpoints
    received = receiver.wait_for(session, expected, timeout=max(120, expected / 50))
    return {"events_per_s": alone / seconds, "catalog_per_s": catalog / seconds,
            "ratio": alone / catalog,
            "events_per_s_while_delivering": while_delivering / seconds,
            "ratio_while_delivering": while_delivering / catalog,
            "deliveries": expected, "received": received}


def _emit_many(api, event_type, count, threads=8):
    sessions = [requests.Session() for _ in range(threads)]
    for s in sessions:
        s.headers.update(api.session.headers)

    def run(i):
        for n in range(i, count, threads):
            api.emit(event_type, _payload(n), session=sessions[i])

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, range(threads)))


def backlog(stack, api, receiver, raw_rate, events, endpoints=20):
    """Recovery after an outage: deliveries queued while no worker ran, then two workers
    start. The drain rate is measured from the first arrival to the last."""
    api.delete_all()
    for _ in range(endpoints):
        api.create_endpoint(f"{receiver.url}/backlog", ["scan.completed"])
    session = requests.Session()
    stack.stop_workers()
    _emit_many(api, "scan.completed", events)
    receiver.reset(session)
    expected = events * endpoints
    started = time.time()
    stack.start_workers()
    seen = receiver.wait_for(session, expected, timeout=max(120, expected / 20))
    times = sorted(a[0] for a in receiver.stats(session) if a[3].startswith("/backlog"))
    drain = times[-1] - times[0]
    rate = len(times) / drain if drain > 0 else float("inf")
    return {"deliveries": expected, "received": seen, "start_seconds": times[0] - started,
            "drain_seconds": drain, "rate": rate, "ratio": rate / raw_rate}


def noisy_neighbour(stack, api, receiver, seconds, flood):
    """Organization A floods an endpoint that never answers; organization B emits one event a
    second to a healthy one. B's ingest → receiver latency is what A may not spoil."""
    api.delete_all()
    neighbour = Api(stack, stack.neighbour_token)
    neighbour.delete_all()
    api.create_endpoint(f"{receiver.url}/hang", ["scan.completed"])
    neighbour.create_endpoint(f"{receiver.url}/neighbour", ["issue.assigned"])
    session = requests.Session()
    receiver.reset(session)
    _emit_many(api, "scan.completed", flood)
    accepted = {}
    started = time.perf_counter()
    for n in range(seconds):
        pause = started + n - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        event_id = neighbour.emit("issue.assigned",
                                  {"issue_id": f"i-{n}", "assigned_to": {"id": "u"}})
        accepted[event_id] = time.time()
    deadline = time.monotonic() + 60
    arrivals = {}
    while len(arrivals) < len(accepted) and time.monotonic() < deadline:
        time.sleep(0.2)
        arrivals = {a[1]: a[0] for a in receiver.stats(session) if a[3].startswith("/neighbour")}
    samples = sorted((arrivals[e] - t) * 1000 for e, t in accepted.items() if e in arrivals)
    hung = sum(1 for a in receiver.stats(session) if a[3].startswith("/hang"))
    api.delete_all()
    return {
        "flood": flood, "events": len(accepted), "received": len(samples),
        "p50_ms": statistics.median(samples) if samples else None,
        "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))] if samples else None,
        "flood_sends": hung,
    }


def quick_retry(api, receiver):
    api.delete_all()
    api.create_endpoint(f"{receiver.url}/fail-first", ["scan.failed"], policy="quick")
    session = requests.Session()
    receiver.reset(session)
    api.emit("scan.failed", {"scan_id": "scan-1", "error": "x"})
    deadline = time.monotonic() + 30
    arrivals = []
    while len(arrivals) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        # Only this scenario's path: late deliveries of earlier scenarios may still arrive.
        arrivals = sorted(a[0] for a in receiver.stats(session) if a[3].startswith("/fail-first"))
    return {"delay_s": arrivals[1] - arrivals[0] if len(arrivals) > 1 else None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    parser.add_argument("--only", default="", metavar="NAMES",
                        help="comma-separated scenarios to run (sustained, latency, fan_out, "
                             "ingest, quick_retry, backlog, noisy_neighbour, latency_under_load); "
                             "default all")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes (the capacity model measures 1, 2 and 4)")
    args = parser.parse_args(argv)
    quick = args.quick
    only = {name.strip() for name in args.only.split(",") if name.strip()}

    def wanted(name):
        return not only or name in only

    receiver = BenchReceiver().start()
    try:
        stack = Stack(workers=args.workers).start()
    except BaseException:
        receiver.stop()
        raise
    api = Api(stack)
    results = {"database": "postgresql" if stack.pg_base else "sqlite",
               "redis": "REDIS_URL" if stack.redis is None else "embedded",
               "quick": quick, "workers": stack.workers}
    try:
        raw_rate, _ = raw_floor(receiver, 500 if quick else 3000)
        results["raw_post_per_s"] = raw_rate
        results["receiver_capacity_per_s"] = capacity(receiver.url, 1 if quick else 3)
        results["receiver_ratio"] = results["receiver_capacity_per_s"] / raw_rate
        if wanted("sustained"):
            before = cpu_snapshot(stack, receiver)
            results["sustained"] = sustained(stack, api, receiver, 200 if quick else 2000)
            results["sustained"]["ratio"] = results["sustained"]["rate"] / raw_rate
            results["sustained"]["cpu_ms_per_delivery"] = cpu_per_delivery(
                before, cpu_snapshot(stack, receiver), results["sustained"]["deliveries"]
            )
            results["sustained"]["cpu_ms_total"] = hookline_ms(
                results["sustained"]["cpu_ms_per_delivery"]
            )
            results["worker_rss_mb"] = max(
                stack.rss_mb(f"worker{n}") for n in range(stack.workers)
            )
        if wanted("latency"):
            before = cpu_snapshot(stack, receiver)
            results["latency"] = latency(api, receiver, 3 if quick else 20)
            # At 50 events a second each delivery is sent alone: what one costs then.
            spent = cpu_per_delivery(before, cpu_snapshot(stack, receiver),
                                     results["latency"]["events"])
            results["latency"]["cpu_ms_parts"] = spent
            results["latency"]["cpu_ms_per_delivery"] = round(hookline_ms(spent), 3)
        if wanted("latency_under_load"):
            # Half the sustained capacity, in events of 10 deliveries each.
            sustained_rate = results.get("sustained", {}).get("rate") or raw_rate / 2
            results["latency_under_load"] = latency_under_load(
                api, receiver, 3 if quick else 10, max(1.0, sustained_rate / 2 / 10)
            )
        if wanted("fan_out"):
            results["fan_out"] = fan_out(api, receiver, 100 if quick else 1000, raw_rate)
        if wanted("ingest"):
            results["ingest"] = ingest_ratio(stack, api, receiver, 2 if quick else 5)
        if wanted("quick_retry"):
            results["quick_retry"] = quick_retry(api, receiver)
        if wanted("backlog"):
            results["backlog"] = backlog(stack, api, receiver, raw_rate, 50 if quick else 200)
        if wanted("noisy_neighbour"):
            results["noisy_neighbour"] = noisy_neighbour(
                stack, api, receiver, 8 if quick else 30, 300 if quick else 3000
            )
    finally:
        stack.stop()
        receiver.stop()
    print_table(results)
    print(json.dumps(results, default=float))
    return 0


def print_table(r):
    rows = [
        ("raw POST/s (floor)", f"{r['raw_post_per_s']:.0f}", "", ""),
        ("receiver capacity/s", f"{r['receiver_capacity_per_s']:.0f}", "ratio ≥ 2",
         f"{r['receiver_ratio']:.2f}"),
    ]
    if "sustained" in r:
        rows.append(("sustained deliveries/s", f"{r['sustained']['rate']:.0f}", "ratio ≥ 0.8",
                     f"{r['sustained']['ratio']:.2f}"))
    if "latency" in r:
        rows.append(("latency p50 / p99 (ms)",
                     f"{r['latency']['p50_ms']:.1f} / {r['latency']['p99_ms']:.1f}",
                     "≤ 20 / ≤ 100", ""))
    if "latency_under_load" in r:
        n = r["latency_under_load"]
        rows.append((f"latency at {n['rate_per_s']:.0f}/s p50 / p99 (ms)",
                     f"{n['p50_ms']:.1f} / {n['p99_ms']:.1f}", "p99 ≤ 50", ""))
    if "fan_out" in r:
        rows.append(("fan-out seconds (raw)",
                     f"{r['fan_out']['seconds']:.2f} ({r['fan_out']['raw_seconds']:.2f})",
                     "ratio ≤ 0.8", f"{r['fan_out']['ratio']:.2f}"))
    if "ingest" in r:
        rows.append(("ingest events/s (catalog/s)",
                     f"{r['ingest']['events_per_s']:.0f} ({r['ingest']['catalog_per_s']:.0f})",
                     "ratio ≥ 0.5", f"{r['ingest']['ratio']:.2f}"))
        rows.append(("  while 2 workers deliver (received)",
                     f"{r['ingest']['events_per_s_while_delivering']:.0f} "
                     f"({r['ingest']['received']}/{r['ingest']['deliveries']})",
                     "", f"{r['ingest']['ratio_while_delivering']:.2f}"))
    if "quick_retry" in r:
        rows.append(("quick retry delay (s)", f"{r['quick_retry']['delay_s']}", "2.0–3.0", ""))
    if "backlog" in r:
        rows.append(("backlog drain/s (start s)",
                     f"{r['backlog']['rate']:.0f} ({r['backlog']['start_seconds']:.1f})",
                     "ratio ≥ 0.8", f"{r['backlog']['ratio']:.2f}"))
    if "noisy_neighbour" in r:
        n = r["noisy_neighbour"]
        rows.append(("noisy neighbour p50 / p99 (ms)",
                     f"{n['p50_ms']:.0f} / {n['p99_ms']:.0f}" if n["p99_ms"] is not None
                     else "none arrived", "p99 ≤ 1000", ""))
    if "worker_rss_mb" in r:
        rows.append(("worker RSS (MB)", f"{r['worker_rss_mb']:.0f}", "≤ 150", ""))
    print(f"database={r['database']} redis={r['redis']} workers={r['workers']} quick={r['quick']}")
    if "sustained" in r:
        spent = r["sustained"]["cpu_ms_per_delivery"]
        print("CPU ms per delivery (sustained): " + ", ".join(
            f"{name} {ms:.2f}" for name, ms in spent.items()
        ) + f"; Hookline, PostgreSQL and Redis {r['sustained']['cpu_ms_total']:.2f} (target ≤ 0.8)"
          f"; with the receiver and load generator {sum(spent.values()):.2f}")
    if "latency" in r:
        print("CPU ms per delivery at 50 events/s, Hookline, PostgreSQL and Redis: "
              f"{r['latency']['cpu_ms_per_delivery']:.2f}")
    print(f"{'figure':32} {'measured':>22} {'target':>14} {'ratio':>7}")
    for name, value, target, ratio in rows:
        print(f"{name:32} {value:>22} {target:>14} {ratio:>7}")

if __name__ == "__main__":
    sys.exit(main())
