"""Limits on what a tenant starts by hand: one Test send per endpoint per cooldown."""
import logging
import math

from flask import current_app
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class TestCooldown(Exception):
    """A Test send came within the endpoint's cooldown; `retry_after` is in seconds."""

    def __init__(self, cooldown, retry_after):
        super().__init__(
            f"One Test send per endpoint every {cooldown} s "
            f"(WEBHOOK_TEST_COOLDOWN_SECONDS): try again in {retry_after} s")
        self.retry_after = retry_after


def start_test_send(endpoint_id):
    """Take the endpoint's Test-send slot for WEBHOOK_TEST_COOLDOWN_SECONDS, or raise
    TestCooldown.

    One Redis SET NX EX, so the slot is shared by every web process. If Redis cannot be
    reached the send is allowed (and logged): a cooldown is not worth refusing tests for.
    """
    cooldown = current_app.config["WEBHOOK_TEST_COOLDOWN_SECONDS"]
    if cooldown <= 0:
        return
    key = f"hookline:test-cooldown:{endpoint_id}"
    try:
        if current_app.redis.set(key, "1", nx=True, ex=cooldown):
            return
        remaining_ms = current_app.redis.pttl(key)
    except RedisError as exc:
        log.warning("Test send cooldown not applied, Redis is unreachable: %s", exc)
        return
    raise TestCooldown(cooldown, max(1, math.ceil(remaining_ms / 1000)))
