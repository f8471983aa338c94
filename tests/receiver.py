"""A real HTTP receiver on 127.0.0.1 that records every request and answers as told."""
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from requests.structures import CaseInsensitiveDict


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    headers: dict = field(default_factory=dict)
    redirect: str | None = None


@dataclass
class Recorded:
    method: str
    path: str
    headers: CaseInsensitiveDict
    body: bytes
    received_at: float
    # The sender's address and port: requests on one kept-alive connection share it.
    client: tuple = ()

    def json(self):
        import json

        return json.loads(self.body)


class Receiver:
    """Start with start(); `url` is its base; requests are in `requests`, oldest first."""

    def __init__(self):
        self.requests = []
        self.default = Reply()
        self.script = deque()
        self._cond = threading.Condition()
        self._server = None

    # What to answer -------------------------------------------------------
    def answer(self, status=200, body=b"ok", delay=0.0, headers=None, redirect=None):
        """Answer every later request like this (after any queued replies)."""
        self.default = Reply(status, body, delay, headers or {}, redirect)

    def queue(self, *statuses_or_replies):
        """Answer the next requests with these statuses or Replies, in order."""
        for item in statuses_or_replies:
            self.script.append(item if isinstance(item, Reply) else Reply(status=item))

    def _next_reply(self):
        with self._cond:
            return self.script.popleft() if self.script else self.default

    # Reading what arrived ---------------------------------------------------
    def wait_for(self, count, timeout=10.0):
        """Block until `count` requests have arrived; returns them (fails the test if not)."""
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

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                record = Recorded(
                    self.command, self.path, CaseInsensitiveDict(self.headers.items()), body,
                    time.time(), self.client_address,
                )
                with receiver._cond:
                    receiver.requests.append(record)
                    receiver._cond.notify_all()
                reply = receiver._next_reply()
                if reply.delay:
                    time.sleep(reply.delay)
                status = 302 if reply.redirect and reply.status == 200 else reply.status
                self.send_response(status)
                if reply.redirect:
                    self.send_header("Location", reply.redirect)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                try:
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_POST = do_GET = do_PUT = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
