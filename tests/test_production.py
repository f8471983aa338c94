"""Production is the default: no process starts without real keys, each says which one."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from app import create_app
from app.config import SettingError
from app.embedded_redis import free_port

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET_KEY = "s" * 32
GOOD_ENCRYPTION_KEY = "e" * 32
# Every kind of process Hookline runs, as the Procfile and the README start them.
PROCESSES = {
    "web": [sys.executable, "-m", "gunicorn", "wsgi:app", "--workers", "1"],
    "worker": [sys.executable, "worker.py"],
    "scheduler": [sys.executable, "worker.py", "scheduler"],
    "cli": [sys.executable, "-m", "flask", "--app", "wsgi", "create-org", "Acme"],
}


def production_env(tmp_path, **settings):
    """The environment of a fresh production install: no HOOKLINE_ENV, no keys."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"HOOKLINE_ENV", "SECRET_KEY", "WEBHOOK_ENCRYPTION_KEY",
                          "WEBHOOK_ENCRYPTION_KEY_OLD", "DATABASE_URL", "TEST_DATABASE_URL",
                          "GUNICORN_CMD_ARGS"}}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{free_port()}",
        **settings,
    })
    return env


def run(kind, env):
    return subprocess.run(PROCESSES[kind], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("kind", PROCESSES)
def test_no_process_starts_without_a_secret_key(tmp_path, kind):
    finished = run(kind, production_env(tmp_path))
    assert finished.returncode != 0
    assert "SECRET_KEY must be set to a random value of at least 32 characters" in (
        finished.stderr)


@pytest.mark.parametrize("kind", PROCESSES)
def test_no_process_starts_with_a_short_secret_key(tmp_path, kind):
    finished = run(kind, production_env(tmp_path, SECRET_KEY="s" * 31,
                                        WEBHOOK_ENCRYPTION_KEY=GOOD_ENCRYPTION_KEY))
    assert finished.returncode != 0
    assert "SECRET_KEY must be set" in finished.stderr


def test_the_entry_points_say_it_in_one_line(tmp_path):
    """gunicorn and the CLI print one line naming the setting, no traceback."""
    for kind in ("web", "cli"):
        finished = run(kind, production_env(tmp_path))
        lines = [line for line in finished.stderr.splitlines() if "Hookline cannot start" in line]
        assert lines == ["Hookline cannot start: SECRET_KEY must be set to a random value of at "
                         "least 32 characters when HOOKLINE_ENV=production (the default; "
                         "HOOKLINE_ENV=development is for local use)"], kind
        assert "Traceback" not in finished.stderr, kind


@pytest.mark.parametrize(("settings", "message"), [
    ({}, "WEBHOOK_ENCRYPTION_KEY must be set"),
    ({"WEBHOOK_ENCRYPTION_KEY": "e" * 31}, "WEBHOOK_ENCRYPTION_KEY must be set"),
    ({"WEBHOOK_ENCRYPTION_KEY": GOOD_SECRET_KEY}, "WEBHOOK_ENCRYPTION_KEY must differ from "
                                                  "SECRET_KEY"),
])
@pytest.mark.parametrize("kind", ["web", "worker", "cli"])
def test_the_encryption_key_is_required_and_separate(tmp_path, kind, settings, message):
    finished = run(kind, production_env(tmp_path, SECRET_KEY=GOOD_SECRET_KEY, **settings))
    assert finished.returncode != 0
    assert message in finished.stderr


def test_gunicorn_serves_with_both_keys(tmp_path):
    port = free_port()
    env = production_env(tmp_path, SECRET_KEY=GOOD_SECRET_KEY,
                         WEBHOOK_ENCRYPTION_KEY=GOOD_ENCRYPTION_KEY,
                         GUNICORN_CMD_ARGS=f"--bind 127.0.0.1:{port}")
    server = subprocess.Popen(PROCESSES["web"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read()
            try:
                response = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.2)
        assert response.status_code == 200
        assert "Log in to Hookline" in response.text
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()


def test_create_app_checks_the_settings_it_is_given():
    with pytest.raises(SettingError, match="SECRET_KEY must be set"):
        create_app({"HOOKLINE_ENV": "production", "SECRET_KEY": "short"})
    with pytest.raises(SettingError, match="WEBHOOK_ENCRYPTION_KEY must differ"):
        create_app({"HOOKLINE_ENV": "production", "SECRET_KEY": GOOD_SECRET_KEY,
                    "WEBHOOK_ENCRYPTION_KEY": GOOD_SECRET_KEY})


def test_a_rate_limit_setting_that_cannot_be_read_is_refused_at_start(monkeypatch):
    from app.config import load_settings

    monkeypatch.setenv("API_RATE_LIMIT", "lots")
    with pytest.raises(SettingError, match="API_RATE_LIMIT must be a rate such as"):
        load_settings()


def test_production_is_the_default(monkeypatch):
    from app.config import load_settings

    monkeypatch.delenv("HOOKLINE_ENV")
    assert load_settings()["HOOKLINE_ENV"] == "production"
    monkeypatch.setenv("HOOKLINE_ENV", "staging")
    with pytest.raises(SettingError, match="HOOKLINE_ENV must be production or development"):
        load_settings()
