"""A fast benchmark receiver: several processes sharing one listening socket, each an asyncio
HTTP/1.1 server with keep-alive, so the receiver is never what a benchmark measures.

Each request's arrival time, event id, delivery id and path go to the benchmark process in
batches; it answers 200, or 500 to the first attempt of each delivery under /fail-first/,
and never under /hang/ (it reads the request and waits for the client to give up).
"""
import asyncio
import http.client
import multiprocessing
import os
import queue
import socket
import threading
import time

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
FAIL = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail"
FLUSH_SECONDS = 0.02


class _Request(asyncio.Protocol):
    """Minimal HTTP/1.1 for POSTs with Content-Length, one request after another."""

    def __init__(self, server):
        self.server = server
        self.buffer = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            total = end + 4 + int(headers.get("content-length") or 0)
            if len(self.buffer) < total:
                return
            self.buffer = self.buffer[total:]
            path = head[0].split(" ", 2)[1]
            answer = self.server.arrived(path, headers)
            if answer is None:  # /hang: the client gives up and closes
                return
            self.transport.write(answer)


class _Server:
    def __init__(self, arrivals, failed_once):
        self.arrivals = arrivals
        self.failed_once = failed_once
        self.batch = []

    def arrived(self, path, headers):
        delivery = next((v for k, v in headers.items() if k.endswith("-delivery")), "")
        self.batch.append((time.time(), headers.get("webhook-id", ""), delivery, path))
        if path.startswith("/hang"):
            return None
        if path.startswith("/fail-first") and delivery not in self.failed_once:
            self.failed_once[delivery] = True
            return FAIL
        return OK

    async def flush(self):
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            if self.batch:
                batch, self.batch = self.batch, []
                self.arrivals.put(batch)


def _serve(sock, arrivals, failed_once):
    server = _Server(arrivals, failed_once)

    async def main():
        loop = asyncio.get_running_loop()
        listener = await loop.create_server(lambda: _Request(server), sock=sock, backlog=1024)
        loop.create_task(server.flush())
        async with listener:
            await listener.serve_forever()

    asyncio.run(main())


class BenchReceiver:
    """Runs the receiver in `processes` child processes; `url`, `stats()`, `count()`,
    `wait_for()`, `reset()`, `stop()`. Arrivals are collected in this process."""

    def __init__(self, processes=None):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        context = multiprocessing.get_context("fork")
        self._manager = context.Manager()
        self._failed_once = self._manager.dict()
        self._arrivals = context.Queue()
        self._seen = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.processes = [
            context.Process(target=_serve, args=(self.sock, self._arrivals, self._failed_once),
                            daemon=True)
            for _ in range(processes or os.cpu_count() or 2)
        ]
        self.process = self.processes[0]
        self._collector = threading.Thread(target=self._collect, daemon=True)

    def start(self):
        for process in self.processes:
            process.start()
        self._collector.start()
        return self

    def _collect(self):
        while not self._stop.is_set():
            try:
                batch = self._arrivals.get(timeout=0.1)
            except queue.Empty:
                continue
            with self._lock:
                self._seen.extend(batch)

    def pids(self):
        return [process.pid for process in self.processes]

    def stats(self, _session=None):
        """Every arrival so far: (time, event id, delivery id, path)."""
        time.sleep(3 * FLUSH_SECONDS)
        with self._lock:
            return list(self._seen)

    def count(self, _session=None):
        with self._lock:
            return len(self._seen)

    def wait_for(self, _session, count, timeout):
        """Wait until `count` requests arrived or `timeout` s passed; returns the count seen."""
        deadline = time.monotonic() + timeout
        seen = self.count()
        while seen < count and time.monotonic() < deadline:
            time.sleep(0.02)
            seen = self.count()
        return seen

    def reset(self, _session=None):
        time.sleep(3 * FLUSH_SECONDS)
        with self._lock:
            self._seen.clear()
        self._failed_once.clear()

    def stop(self):
        self._stop.set()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join(5)
        self._manager.shutdown()
        self.sock.close()


def capacity(url, seconds, clients=4):
    """The receiver's own rate: `clients` processes, each a keep-alive POST loop of
    http.client (lighter than any client the engine uses) for `seconds`."""
    context = multiprocessing.get_context("fork")
    counts = context.Queue()
    host, port = url.removeprefix("http://").split(":")
    body = b'{"event_id":"x","event_type":"scan.completed","data":{}}'

    def run():
        connection = http.client.HTTPConnection(host, int(port))
        done, stop_at = 0, time.monotonic() + seconds
        while time.monotonic() < stop_at:
            connection.request("POST", "/capacity", body=body,
                               headers={"Content-Type": "application/json"})
            connection.getresponse().read()
            done += 1
        counts.put(done)

    workers = [context.Process(target=run) for _ in range(clients)]
    for worker in workers:
        worker.start()
    total = sum(counts.get() for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds
