"""A receiver on 127.0.0.1 that can hold its answer while the user acts, and that counts
each delivery's requests and how many of them were in flight at once."""
import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from requests.structures import CaseInsensitiveDict

# A held answer never waits longer than this, so a failing test cannot hang the receiver.
LONGEST_HOLD = 30.0


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    held: bool = False


@dataclass
class Received:
    delivery_id: str
    headers: CaseInsensitiveDict
    body: bytes
    received_at: float

    def json(self):
        return json.loads(self.body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A sender that hung up (a timed-out attempt) is not news."""


class HoldingReceiver:
    """Records every request; answers from a script, then with a default answer.

    hold() queues an answer that is not sent until release(): the request has arrived and
    the worker is mid-send for as long as the test needs. Per X-Hookline-Delivery it keeps
    how many requests arrived and the most that were open at the same moment.
    """

    def __init__(self):
        self.requests = []
        self.default = Answer()
        self.script = deque()
        self._released = threading.Event()
        self._cond = threading.Condition()
        self._open = Counter()
        self._most_open = Counter()
        self._server = None
        self.first_status = None

    # What to answer ---------------------------------------------------------------------
    def answer(self, status=200, body=b"ok", delay=0.0):
        """Answer every request after the scripted ones like this."""
        self.default = Answer(status, body, delay)

    def queue(self, *answers):
        """Answer the next requests with these statuses or Answers, in order."""
        for item in answers:
            self.script.append(item if isinstance(item, Answer) else Answer(status=item))

    def fail_first(self, status=500):
        """The first request of each delivery gets `status`; later ones the usual answer."""
        self.first_status = status

    def hold(self, status=200, body=b"ok"):
        """The next scripted request waits for release() before it gets this answer."""
        self.script.append(Answer(status, body, held=True))

    def release(self):
        """Let every held answer go (and any later held one at once)."""
        self._released.set()

    # What arrived -----------------------------------------------------------------------
    def wait_for(self, count, timeout=15.0):
        """Block until `count` requests have arrived; fail the test if they do not."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"receiver got {len(self.requests)} requests, expected {count}"
                    )
                self._cond.wait(left)
            return list(self.requests)

    def arrives(self, delivery_id, timeout):
        """Wait up to `timeout` seconds for a request of this delivery; True if one came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(item.delivery_id == delivery_id for item in self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def sent(self, delivery_id):
        """How many requests of this delivery arrived."""
        with self._cond:
            return sum(1 for item in self.requests if item.delivery_id == delivery_id)

    def most_at_once(self, delivery_id):
        """The most requests of this delivery that were open at the same moment."""
        with self._cond:
            return self._most_open[delivery_id]

    def per_delivery(self):
        """Counter of requests per delivery id."""
        with self._cond:
            return Counter(item.delivery_id for item in self.requests)

    # Serving ----------------------------------------------------------------------------
    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def _arrived(self, handler, body):
        delivery_id = handler.headers.get("X-Hookline-Delivery", "")
        with self._cond:
            self.requests.append(Received(
                delivery_id, CaseInsensitiveDict(handler.headers.items()), body, time.time()
            ))
            self._open[delivery_id] += 1
            self._most_open[delivery_id] = max(
                self._most_open[delivery_id], self._open[delivery_id]
            )
            first = all(item.delivery_id != delivery_id for item in self.requests[:-1])
            if first and self.first_status is not None:
                answer = Answer(self.first_status)
            else:
                answer = self.script.popleft() if self.script else self.default
            self._cond.notify_all()
        return delivery_id, answer

    def _closed(self, delivery_id):
        with self._cond:
            self._open[delivery_id] -= 1

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                delivery_id, answer = receiver._arrived(self, body)
                try:
                    if answer.held:
                        receiver._released.wait(LONGEST_HOLD)
                    if answer.delay:
                        time.sleep(answer.delay)
                finally:
                    # Closed before the answer goes out: a send that follows this one's
                    # answer can never be counted as overlapping it.
                    receiver._closed(delivery_id)
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self):
        self.release()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
