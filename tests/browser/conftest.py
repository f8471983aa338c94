"""Browser tests: Chromium drives the app served by gunicorn, with a worker and a scheduler.

The server processes run on a private SQLite file (or a private PostgreSQL database when the
suite runs on PostgreSQL) and a private embedded Redis, so they never share state with the
rest of the suite. Every page a test opens is watched: a request to anything but 127.0.0.1 or
an error in the console fails the test.
"""
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from app.embedded_redis import EmbeddedRedis, free_port
from tests.conftest import OUTPUT, _postgres_url

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
SCREENSHOTS = OUTPUT / "screenshots"
ADMIN_EMAIL = "admin@browser.test"
VIEWER_EMAIL = "viewer@browser.test"
PASSWORD = "browser-test-password"
LOCAL_HOSTS = {"127.0.0.1"}


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session", autouse=True)
def _chromium_present():
    """No Chromium: skip, except in CI (CI=true), where a missing browser is a failure."""
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is not installed (make test installs it with apt)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }


@dataclass
class LiveServer:
    """The running app: its URL, its environment (for CLI calls) and its logs."""

    url: str
    env: dict
    logs: Path
    org_id: str = ""
    processes: list = field(default_factory=list)

    def cli(self, *args):
        """Run `flask --app wsgi …` against the live database; returns its stdout."""
        run = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120,
        )
        if run.returncode != 0:
            raise AssertionError(f"flask {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}")
        return run.stdout

    def start(self, name, *command):
        log = open(self.logs / f"{name}.log", "wb")
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT)
        self.processes.append((process, log))
        return process

    def wait_until_up(self, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for process, _log in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a server process exited early:\n{self.read_logs()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the live server did not come up:\n{self.read_logs()}")
            time.sleep(0.2)

    def read_logs(self):
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.logs.glob("*.log"))
        )

    def stop(self):
        for process, _log in self.processes:
            if process.poll() is None:
                process.terminate()
        for process, log in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def _private_postgres(url):
    """A throwaway database next to the suite's PostgreSQL one; returns (url, drop())."""
    import psycopg

    base, _, _name = url.rpartition("/")
    name = f"hookline_browser_{uuid.uuid4().hex[:10]}"
    admin_url = f"{base}/postgres".replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, _chromium_present):
    """gunicorn + worker + scheduler on a free 127.0.0.1 port, with an admin and a viewer."""
    workdir = tmp_path_factory.mktemp("live")
    postgres = _postgres_url()
    drop = None
    if postgres:
        database_url, drop = _private_postgres(postgres)
    else:
        database_url = f"sqlite:///{workdir / 'live.db'}"
    redis = EmbeddedRedis().start()
    port = free_port()
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("WEBHOOK_", "GUNICORN_")) and key not in {
            "DATABASE_URL", "TEST_DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PORT"}
    }
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "HOOKLINE_ENV": "development",
        "SECRET_KEY": "browser-test-secret",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "WEBHOOK_ALLOW_HTTP": "1",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
        "WEBHOOK_TIMEOUT_SECONDS": "3",
        # Pinned so a developer's .env cannot change what the tests expect to see.
        "WEBHOOK_HEADER_PREFIX": "X-Hookline",
        "WEBHOOK_USER_AGENT": "Hookline-Webhooks/1.0",
        "WEBHOOK_RETRY_DELAYS_STANDARD": "60,300,1800,7200",
        "WEBHOOK_RETRY_DELAYS_QUICK": "2,4",
        "WEBHOOK_SCHEDULER_INTERVAL": "0.2",
        "LOGIN_RATE_LIMIT": "1000 per minute",
    })
    server = LiveServer(url=f"http://127.0.0.1:{port}", env=env, logs=workdir)
    try:
        server.cli("db", "upgrade")
        server.org_id = server.cli("create-org", "Browser Org").strip().splitlines()[-1]
        for email, role in ((ADMIN_EMAIL, "admin"), (VIEWER_EMAIL, "viewer")):
            server.cli("create-user", "--org", server.org_id, "--email", email,
                       "--password", PASSWORD, "--role", role, "--name", "Dana Browser")
        server.start("web", sys.executable, "-m", "gunicorn", "wsgi:app",
                     "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4")
        server.start("worker", sys.executable, "worker.py")
        server.start("scheduler", sys.executable, "worker.py", "scheduler")
        server.wait_until_up()
        yield server
    finally:
        server.stop()
        redis.stop()
        if drop:
            drop()


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    # Reduced motion: no smooth scrolling, so screenshots show where a link landed.
    return {**browser_context_args, "base_url": live_server.url, "accept_downloads": True,
            "reduced_motion": "reduce"}


class PageWatch:
    """What a page did that it must not: outside requests, console errors, page errors."""

    def __init__(self):
        self.outside = []
        self.errors = []
        self.allowed = []

    def allow(self, text):
        """Let console errors containing `text` pass (a test that asks for an error page)."""
        self.allowed.append(text)

    def attach(self, context, page):
        def route(route):
            host = urlsplit(route.request.url).hostname
            if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()

        context.route("**/*", route)
        page.on("console", lambda message: message.type == "error" and self.errors.append(
            f"console: {message.text} ({page.url})"))
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error} ({page.url})"))

    def check(self):
        assert not self.outside, f"the page loaded from outside 127.0.0.1: {self.outside}"
        errors = [e for e in self.errors if not any(text in e for text in self.allowed)]
        assert not errors, f"errors in the browser console: {errors}"


@pytest.fixture
def page_watch():
    return PageWatch()


@pytest.fixture
def page(context, page, page_watch):
    """Chromium's page, failing the test on outside requests or console errors."""
    page_watch.attach(context, page)
    page.set_default_timeout(15_000)
    yield page
    page_watch.check()


@pytest.fixture
def no_js_page(browser, live_server):
    """A page with JavaScript disabled, watched like `page`."""
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  accept_downloads=True, reduced_motion="reduce")
    page = context.new_page()
    watch = PageWatch()
    watch.attach(context, page)
    page.set_default_timeout(15_000)
    yield page
    context.close()
    watch.check()


@pytest.fixture
def screenshot():
    """screenshot(page, name): a PNG of the page under tests/output/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name, full_page=True):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


_ACCESSIBILITY_PROBLEMS = """() => {
  const visible = (el) => !["hidden", "submit", "button", "reset"].includes(el.type)
      && !el.closest("[hidden], template");
  const named = (el) => (el.labels && el.labels.length && [...el.labels].some(
      (label) => label.textContent.trim())) || el.getAttribute("aria-label")
      || el.getAttribute("aria-labelledby") || el.getAttribute("title");
  const problems = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (visible(el) && !named(el)) problems.push(`field without a label: ${el.outerHTML}`);
  }
  for (const el of document.querySelectorAll(
      "button, input[type=submit], input[type=button], a[href]")) {
    const name = (el.textContent || "").trim() || el.value || el.getAttribute("aria-label")
        || el.getAttribute("title");
    if (!name) problems.push(`control without a name: ${el.outerHTML}`);
  }
  for (const el of document.querySelectorAll(".badge")) {
    if (!el.textContent.trim()) problems.push(`status badge without text: ${el.outerHTML}`);
  }
  if (!document.documentElement.lang) problems.push("page without a language");
  if (document.querySelectorAll("h1").length !== 1) problems.push("page without one h1");
  return problems;
}"""


def accessibility_problems(page):
    """Fields without labels, controls without names, empty badges, no language, not one h1."""
    return page.evaluate(_ACCESSIBILITY_PROBLEMS)


def log_in(page, email=ADMIN_EMAIL, password=PASSWORD):
    """Fill the login form and land on the webhooks list."""
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/organization/webhooks")
