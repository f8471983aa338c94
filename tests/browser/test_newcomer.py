"""The newcomer's path: `make run` (app/devrun.py) on an empty database shows a week of demo
history, and `flask emit` run in another shell reaches its embedded Redis: delivered in
under 2 s, not half a minute later by the sweeper."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from app.embedded_redis import free_port
from tests.conftest import _postgres_url

from .conftest import ROOT, _private_postgres, log_in

DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = "hookline-demo"
PHONE = {"width": 390, "height": 844}


class DevRun:
    """A running `python -m app.devrun` and what a second shell needs to talk to it."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.run_file = workdir / "devrun.json"
        self.log = workdir / "devrun.log"
        self.process = None

    def env(self, database_url):
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("WEBHOOK_", "GUNICORN_")) and key not in {
                   "DATABASE_URL", "TEST_DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PORT",
                   "HOOKLINE_ENV"}}
        env.update({"PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{env['PATH']}",
                    "DATABASE_URL": database_url, "HOOKLINE_RUN_FILE": str(self.run_file),
                    "PYTHONUNBUFFERED": "1"})
        return env

    def read_log(self):
        return self.log.read_text(errors="replace")[-6000:]


@pytest.fixture(scope="module")
def devrun(tmp_path_factory):
    """`make run`'s own program on free ports, a private database and its embedded Redis."""
    run = DevRun(tmp_path_factory.mktemp("devrun"))
    postgres = _postgres_url()
    drop = None
    if postgres:
        database_url, drop = _private_postgres(postgres)
    else:
        database_url = f"sqlite:///{run.workdir / 'hookline.db'}"
    run.database_url = database_url
    run.shell_env = run.env(database_url)
    with open(run.log, "wb") as log:
        run.process = subprocess.Popen(
            [sys.executable, "-m", "app.devrun"], cwd=ROOT,
            env={**run.shell_env, "PORT": str(run.port)}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert run.process.poll() is None, f"make run stopped:\n{run.read_log()}"
            try:
                if requests.get(f"{run.url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"make run did not come up:\n{run.read_log()}"
            time.sleep(0.3)
        run.org_id = next(line.split()[-1] for line in run.read_log().splitlines()
                          if line.startswith("Organization: "))
        yield run
    finally:
        # Ctrl-C in its terminal, as a user stops it: SIGINT to its whole process group
        # (its own, apart from this test's), the embedded Redis's included, just after an
        # event, while its delivery job is still running or waiting for more.
        if run.process.poll() is None and getattr(run, "org_id", None):
            _emit_from_another_shell(run, "scan.started", json.dumps({"scan_id": "last"}))
            time.sleep(0.5)
        os.killpg(run.process.pid, signal.SIGINT)
        try:
            run.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()
        if drop:
            drop()
    assert not run.run_file.exists(), "make run left its record of Redis behind"
    stopping = run.log.read_text(errors="replace").partition("SIGINT received")[2]
    assert "SIGKILL" not in stopping and "Redis is unreachable" not in stopping, stopping[-3000:]


@pytest.fixture
def demo_page(browser, devrun, page_watch):
    context = browser.new_context(base_url=devrun.url, reduced_motion="reduce")
    page = context.new_page()
    page_watch.attach(context, page)
    page.set_default_timeout(15_000)
    yield page
    context.close()
    page_watch.check()


def _emit_from_another_shell(devrun, event_type, data):
    """`flask --app wsgi emit` as a second shell runs it: no REDIS_URL in its environment."""
    assert "REDIS_URL" not in devrun.shell_env
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "emit", "--org", devrun.org_id,
         event_type, data], cwd=ROOT, env=devrun.shell_env, capture_output=True, text=True,
        timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_make_run_shows_a_week_of_demo_history(demo_page, devrun, screenshot):
    page = demo_page
    log_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    rows = page.locator("#webhooks tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.filter(has_text="Compliance archive").locator(".badge")).to_have_text("Paused")
    for url_part in ("/demo-receiver/slack", "/demo-receiver/pagerduty"):
        expect(page.locator("#webhooks")).to_contain_text(f"127.0.0.1:{devrun.port}{url_part}")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    expect(page.locator("#history tbody tr")).to_have_count(50)
    expect(page.get_by_role("link", name="Older →")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Statistics").click()
    organization = page.locator("section", has=page.locator("#org-chart"))
    assert int(organization.locator("text.bar-value").first.text_content().rstrip("k")) > 0
    page.set_viewport_size({"width": 1280, "height": 1000})
    screenshot(page, "docs-statistics", full_page=False)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto("/organization/webhooks")
    rows.filter(has_text="PagerDuty on-call").get_by_role(
        "link", name="PagerDuty on-call", exact=True).click()
    expect(page.locator("[data-stat=calls]")).not_to_have_text("0")
    expect(page.locator("#recent-attempts tbody tr")).to_have_count(10)
    screenshot(page, "docs-overview")
    page.set_viewport_size(PHONE)
    screenshot(page, "docs-phone-overview", full_page=False)
    page.set_viewport_size({"width": 1280, "height": 800})

    engine = create_engine(devrun.database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            retried = connection.execute(text(
                "SELECT d.id FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id "
                "WHERE e.name = 'PagerDuty on-call' AND d.status = 'delivered' "
                "AND d.attempt_count > 1 ORDER BY d.created_at DESC LIMIT 1")).scalar_one()
    finally:
        engine.dispose()
    page.goto(f"/organization/webhooks/history/{retried}")
    expect(page.locator("details.attempt")).to_have_count(2)
    expect(page.locator("details.attempt").first.locator("summary .badge")).to_be_visible()
    screenshot(page, "docs-delivery")

    # The paused endpoint's deliveries are held, and say so.
    page.goto("/organization/webhooks/history?q=compliance&status=pending")
    page.locator("#history tbody tr").first.get_by_role("link").click()
    expect(page.locator("#next-attempt")).to_contain_text("Held: the endpoint is paused")


def test_emit_in_a_second_shell_reaches_make_runs_redis_at_once(demo_page, devrun):
    page = demo_page
    log_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    data = {"scan_id": "scan-newcomer",
            "project": {"id": "proj-uuid-9012", "name": "Production API"}}
    event_id = _emit_from_another_shell(devrun, "scan.completed", json.dumps(data))
    emitted = time.monotonic()
    # Slack, PagerDuty and Splunk subscribe to it; each delivery reaches the demo receiver.
    page.goto(f"/organization/webhooks/history?q={event_id}")
    rows = page.locator("#history tbody tr")
    while rows.filter(has_text="delivered").count() < 3:
        assert time.monotonic() - emitted < 2, (
            f"not delivered 2 s after emit: {rows.all_inner_texts()}\n{devrun.read_log()}")
        time.sleep(0.1)
        page.reload()
    assert time.monotonic() - emitted < 2
    expect(rows).to_have_count(3)
