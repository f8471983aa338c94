"""The gunicorn worker: gthread, answering a request line over the limit with the JSON
error object instead of gunicorn's HTML page."""
import json

from gunicorn import util
from gunicorn.http.errors import LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

from .security_headers import CONTENT_SECURITY_POLICY


class HooklineWorker(ThreadWorker):
    """gunicorn's threaded worker; its own 414 is the SPEC §9 error object.

    gunicorn refuses an over-long request line before reading the path, so the JSON answer
    goes to every caller: API clients get the error object they expect, and no page of
    the admin makes such a URL.
    """

    def handle_error(self, req, client, addr, exc):
        if not isinstance(exc, LimitRequestLine):
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        body = json.dumps({"error": {
            "code": "uri_too_long",
            "message": f"The request line is longer than {self.cfg.limit_request_line} "
                       "bytes: shorten the URL",
        }}).encode("utf-8")
        head = (
            "HTTP/1.1 414 URI Too Long\r\n"
            "Connection: close\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Content-Security-Policy: {CONTENT_SECURITY_POLICY}\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            "\r\n"
        ).encode("latin-1")
        try:
            util.write_nonblock(client, head + body)
        except OSError:
            self.log.debug("Failed to send the 414 answer.")
        return None
