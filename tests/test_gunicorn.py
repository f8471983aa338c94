"""Real gunicorn with the shipped gunicorn.conf.py: long request lines reach the app, and
one over gunicorn's limit gets the JSON error object, not gunicorn's HTML 414 page."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from app.embedded_redis import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def gunicorn_url(tmp_path_factory):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('g')}/g.db",
           "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "SECRET_KEY": "gunicorn-test"}
    env.pop("GUNICORN_CMD_ARGS", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}",
         "--workers", "1"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "gunicorn exited"
            try:
                requests.get(f"{url}/login", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def raw_get(url, path):
    """GET with a hand-written request line (requests would not send one this long)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
                           "Connection: close\r\n\r\n".encode())
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def test_a_long_api_url_reaches_the_app(gunicorn_url):
    path = "/api/sch/org/webhook-deliveries?eventType=" + "a" * 6000
    head, body = raw_get(gunicorn_url, path)
    assert head.startswith("HTTP/1.1 401")
    assert b'"code":"unauthorized"' in body.replace(b" ", b"")


def test_a_request_line_over_the_limit_gets_the_json_error_object(gunicorn_url):
    head, body = raw_get(gunicorn_url, "/api/sch/org/webhook-deliveries?eventType=" + "a" * 9000)
    assert head.startswith("HTTP/1.1 414")
    assert "Content-Type: application/json" in head
    assert json.loads(body) == {"error": {
        "code": "uri_too_long",
        "message": "The request line is longer than 8190 bytes: shorten the URL"}}
