"""Commands in another shell use the Redis and development settings `make run` recorded."""
import json

import pytest

from app import config
from app.embedded_redis import free_port


@pytest.fixture
def run_file(tmp_path, monkeypatch):
    path = tmp_path / "devrun.json"
    monkeypatch.setenv("HOOKLINE_RUN_FILE", str(path))
    for name in config.RUN_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return path


def record(redis_url):
    config.record_run_settings({"REDIS_URL": redis_url, "HOOKLINE_ENV": "development",
                                "WEBHOOK_ALLOW_HTTP": "1", "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
                                "SECRET_KEY": "never-recorded"})


def test_a_running_make_run_is_used_when_redis_url_is_unset(run_file, private_redis):
    record(private_redis.url)
    assert "never-recorded" not in run_file.read_text()
    settings = config.load_settings()
    assert settings["REDIS_URL"] == private_redis.url
    assert settings["HOOKLINE_ENV"] == "development"
    assert settings["WEBHOOK_ALLOW_HTTP"] is True
    assert settings["WEBHOOK_ALLOW_PRIVATE_TARGETS"] is True


def test_the_environment_still_wins(run_file, private_redis, monkeypatch):
    record(private_redis.url)
    monkeypatch.setenv("WEBHOOK_ALLOW_HTTP", "0")
    assert config.load_settings()["WEBHOOK_ALLOW_HTTP"] is False
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6399/3")
    settings = config.load_settings()
    assert settings["REDIS_URL"] == "redis://127.0.0.1:6399/3"
    assert settings["WEBHOOK_ALLOW_PRIVATE_TARGETS"] is False


def test_a_record_left_by_a_run_that_ended_is_ignored(run_file):
    record(f"redis://127.0.0.1:{free_port()}/0")
    settings = config.load_settings()
    assert settings["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert settings["WEBHOOK_ALLOW_HTTP"] is False


@pytest.mark.parametrize("content", ["", "not json", "[1, 2]", json.dumps({"REDIS_URL": 5})])
def test_a_damaged_record_is_ignored(run_file, content):
    run_file.write_text(content)
    assert config.running_settings() == {}


def test_make_run_removes_only_its_own_record(run_file, private_redis):
    record(private_redis.url)
    config.clear_run_settings("redis://127.0.0.1:1/0")
    assert run_file.exists()
    config.clear_run_settings(private_redis.url)
    assert not run_file.exists()
    config.clear_run_settings(private_redis.url)  # nothing left: nothing to do
