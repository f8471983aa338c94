"""What people do to deliveries: retry one, replay an endpoint, retry many, send a test; and
how many wait for an endpoint. The state changes themselves live in delivery_state."""
import math
import time
import uuid
from dataclasses import dataclass

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from .. import catalog
from ..extensions import db
from ..models import Attempt, Delivery, utcnow
from . import after_commit, audit, delivery_state, payloads
from .delivery_state import RETRYABLE

# Where a worker signals that a test send's attempt is recorded (see wait_for_attempt).
ATTEMPTED = "hookline:attempted:{}"
# How long past the timeout a test send is waited for: a worker must pick it up and record.
TEST_WAIT_MARGIN_SECONDS = 2
WAIT_STEP_SECONDS = 3


class RetryRefused(ValueError):
    """A retry was refused; `code` names why (delivery_in_flight, not_retryable,
    endpoint_deleted), the message is meant for the user."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class TestRefused(ValueError):
    """A test send was refused; the message is meant for the user."""


def held_count(endpoint_id):
    """How many deliveries wait for this endpoint (pending or failed, not yet final)."""
    return delivery_state.held_count(endpoint_id)


def retry(org_id, actor, delivery):
    """Ask for a manual attempt of one failed or exhausted delivery right away, and audit it.

    A delivery being sent right now is refused (code delivery_in_flight): its attempt is
    under way and its outcome will be recorded; retrying it then would send it twice at once.
    """
    if delivery.endpoint.deleted_at is not None:
        raise RetryRefused("endpoint_deleted",
                           "The webhook of this delivery was deleted; it cannot be retried")
    if not delivery_state.request_attempts(org_id, [delivery.id], "manual"):
        db.session.rollback()
        if delivery_state.in_flight(org_id, delivery.id):
            raise RetryRefused(
                "delivery_in_flight",
                "This delivery is being sent right now; retry it once this attempt is recorded",
            )
        db.session.refresh(delivery)
        raise RetryRefused(
            "not_retryable",
            f"Only failed or exhausted deliveries can be retried; this one is {delivery.status}",
        )
    audit.record(org_id, actor, "delivery.retry", "delivery", delivery.id,
                 {"webhook": delivery.endpoint_id, "eventType": delivery.event_type},
                 commit=False)
    after_commit.add("deliver_now", delivery.id)
    db.session.commit()


def request_attempts(org_id, delivery_ids, trigger):
    """Ask for an attempt now on each failed or exhausted delivery of this organization that
    is not being sent and whose endpoint still exists; commits, queues, and returns the ids
    changed (replay and bulk retry)."""
    changed = delivery_state.request_attempts(org_id, delivery_ids, trigger)
    after_commit.add("deliver", *changed)
    db.session.commit()
    return changed


def replay(org_id, endpoint_id, since):
    """Resend every failed or exhausted delivery of an endpoint created at or after `since`
    (those being sent right now are left to their attempt); returns how many."""
    ids = db.session.execute(
        select(Delivery.id)
        .where(
            Delivery.org_id == org_id,
            Delivery.endpoint_id == endpoint_id,
            Delivery.status.in_(RETRYABLE),
            Delivery.created_at >= since,
        )
        .order_by(Delivery.created_at, Delivery.id)
    ).scalars().all()
    return len(request_attempts(org_id, ids, "manual"))


@dataclass
class TestSend:
    """A test delivery and its attempt (None while a worker has not recorded it yet)."""

    delivery: Delivery
    attempt: Attempt | None


def test_webhook(org_id, actor, endpoint, event_type):
    """Send the catalog sample of one of the endpoint's event types through a worker, and
    audit it; waits for the attempt up to the timeout (plus a margin) and returns a TestSend.

    The send runs on a worker like every other, so a slow receiver never holds a web
    thread longer than that. Raises TestRefused when the type is not one the endpoint
    subscribes to.
    """
    if not isinstance(event_type, str) or event_type not in (endpoint.events or []):
        raise TestRefused("Choose one of the event types this webhook subscribes to")
    now = utcnow()
    event_id = str(uuid.uuid4())
    delivery = Delivery(
        id=str(uuid.uuid4()),
        org_id=endpoint.org_id,
        endpoint_id=endpoint.id,
        event_id=event_id,
        event_type=event_type,
        payload=payloads.default_payload(
            event_id, event_type, now, catalog.sample_data(event_type, endpoint.org_id)
        ),
        status="pending",
        next_attempt_at=now,
        next_trigger="test",
        created_at=now,
    )
    db.session.add(delivery)
    audit.record(org_id, actor, "endpoint.test", "endpoint", endpoint.id,
                 {"name": endpoint.name, "event_type": event_type, "delivery_id": delivery.id},
                 commit=False)
    after_commit.add("deliver_now", delivery.id)
    db.session.commit()
    seconds = current_app.config["WEBHOOK_TIMEOUT_SECONDS"] + TEST_WAIT_MARGIN_SECONDS
    return TestSend(delivery, wait_for_attempt(delivery, seconds))


def wait_for_attempt(delivery, seconds):
    """The delivery's latest attempt, waiting up to `seconds` for a worker to record one.

    Waits on the worker's signal in short steps (shorter than the Redis socket timeout),
    reading the database between them, so a lost signal or a Redis outage costs nothing
    but the wait.
    """
    deadline = time.monotonic() + seconds
    while True:
        attempt = latest_attempt(delivery.id)
        db.session.commit()  # end the read: the next one must see the worker's commit
        left = deadline - time.monotonic()
        if attempt is not None or left <= 0:
            return attempt
        try:
            current_app.redis.blpop([ATTEMPTED.format(delivery.id)],
                                    timeout=max(1, min(WAIT_STEP_SECONDS, math.ceil(left))))
        except (RedisError, OSError):
            time.sleep(min(0.2, left))


def latest_attempt(delivery_id):
    """The most recent attempt of a delivery, or None."""
    return db.session.execute(
        select(Attempt).where(Attempt.delivery_id == delivery_id)
        .order_by(Attempt.number.desc(), Attempt.id.desc())
    ).scalars().first()
