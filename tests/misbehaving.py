"""Receivers that misbehave on purpose, on raw sockets at 127.0.0.1 (for transport tests)."""
import socket
import threading
import time


class MisbehavingServer:
    """Accepts connections and runs `behaviour(conn)` on each; `url` is http://127.0.0.1:port."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self._stop = threading.Event()
        self._open = []

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            _read_request(conn)
            self.behaviour(conn, self)
        except OSError:
            pass

    def stop(self):
        self._stop.set()
        for conn in self._open:
            try:
                conn.close()
            except OSError:
                pass
        self.sock.close()


def _read_request(conn):
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return data


def hang_after_headers(seconds=30):
    """Send a status line and headers, then nothing (the body never comes)."""

    def behaviour(conn, server):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        server._stop.wait(seconds)

    return behaviour


def never_answer(seconds=30):
    def behaviour(conn, server):
        server._stop.wait(seconds)

    return behaviour


def huge_body(megabytes=50):
    """A 2xx answer that streams `megabytes` of body."""

    def behaviour(conn, server):
        size = megabytes * 1024 * 1024
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        chunk = b"x" * 65536
        sent = 0
        while sent < size:
            conn.sendall(chunk)
            sent += len(chunk)

    return behaviour


def invalid_http():
    def behaviour(conn, server):
        conn.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        conn.close()

    return behaviour


def reset_connection():
    """Close with RST (SO_LINGER 0) right after reading the request."""

    def behaviour(conn, server):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()

    return behaviour


def redirect_loop():
    def behaviour(conn, server):
        conn.sendall(
            f"HTTP/1.1 302 Found\r\nLocation: {server.url}/again\r\nContent-Length: 0\r\n\r\n"
            .encode()
        )
        time.sleep(0.05)
        conn.close()

    return behaviour


def drip_body(interval=1.0, size=60):
    """A 200 whose status line and headers come at once, then its body one byte each
    `interval`: every read gets a byte before a per-read timeout."""

    def behaviour(conn, server):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(size):
            if server._stop.wait(interval):
                return
            conn.sendall(b"x")

    return behaviour


def drip_headers(interval=1.0, count=60):
    """A status line, then one header byte each `interval`: the headers take `count`
    intervals to end."""

    def behaviour(conn, server):
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        for _ in range(count):
            if server._stop.wait(interval):
                return
            conn.sendall(b"x")
        conn.sendall(b"\r\nContent-Length: 0\r\n\r\n")

    return behaviour
