"""A fast benchmark receiver: asyncio HTTP/1.1 with keep-alive, in its own process.

It records, per request, the arrival time and the delivery/event ids, and answers 200 — or 500
to the first attempt of each delivery under /fail-first/, and never under /hang/ (it reads the
request and waits for the client to give up). GET /_stats returns what it recorded.
"""
import asyncio
import json
import multiprocessing
import socket
import time

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
FAIL = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail"


class _State:
    def __init__(self):
        self.arrivals = []  # (time, event_id, delivery_id, path)
        self.failed_once = set()


async def _handle(reader, writer, state):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if length:
                await reader.readexactly(length)
            if method == "GET" and path.startswith("/_count"):
                body = json.dumps({"count": len(state.arrivals)}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            elif method == "GET" and path.startswith("/_stats"):
                body = json.dumps({"arrivals": state.arrivals}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            elif method == "POST" and path.startswith("/_reset"):
                state.arrivals.clear()
                state.failed_once.clear()
                writer.write(OK)
            else:
                now = time.time()
                delivery = next((v for k, v in headers.items() if k.endswith("-delivery")), "")
                state.arrivals.append((now, headers.get("webhook-id", ""), delivery, path))
                if path.startswith("/hang"):
                    await reader.read()
                    return
                if path.startswith("/fail-first") and delivery not in state.failed_once:
                    state.failed_once.add(delivery)
                    writer.write(FAIL)
                else:
                    writer.write(OK)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


def _serve(sock):
    state = _State()

    async def main():
        server = await asyncio.start_server(
            lambda r, w: _handle(r, w, state), sock=sock, backlog=1024
        )
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class BenchReceiver:
    """Runs the receiver in a child process; `url`, `stats()`, `reset()`, `stop()`."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(self.sock,), daemon=True
        )

    def start(self):
        self.process.start()
        return self

    def stats(self, session):
        return session.get(f"{self.url}/_stats", timeout=30).json()["arrivals"]

    def count(self, session):
        return session.get(f"{self.url}/_count", timeout=10).json()["count"]

    def wait_for(self, session, count, timeout):
        """Poll until `count` requests arrived or `timeout` s passed; returns the count seen."""
        deadline = time.monotonic() + timeout
        seen = self.count(session)
        while seen < count and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = self.count(session)
        return seen

    def reset(self, session):
        session.post(f"{self.url}/_reset", timeout=10)

    def stop(self):
        self.process.terminate()
        self.process.join(5)
        self.sock.close()
