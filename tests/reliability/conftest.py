"""Fault-test fixtures: a private Redis server the test may kill, worker processes, a receiver."""
import pytest

from .harness import CountingReceiver, Fleet


@pytest.fixture
def config_overrides(private_redis):
    return {
        "REDIS_URL": private_redis.url,
        "WEBHOOK_RETRY_DELAYS_STANDARD": (1, 1, 1, 1),
        "WEBHOOK_SWEEP_SECONDS": 2,
    }


@pytest.fixture
def fleet(app, database_url, private_redis, tmp_path):
    """Worker and scheduler processes; all stopped before the test's data is cleaned up."""
    started = Fleet(database_url, private_redis.url, tmp_path)
    yield started
    started.close()


@pytest.fixture
def counting_receiver():
    server = CountingReceiver()
    yield server
    server.stop()
