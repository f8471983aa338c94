"""A delivery's state changes live here: claim, attempt, record, retry, hold, release, cancel."""
import logging
import time
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .. import catalog
from ..extensions import db
from ..models import Attempt, Delivery, Endpoint, EndpointDailyStat, utcnow
from . import audit, body_templates, payloads, signing, transport

log = logging.getLogger(__name__)

WAITING = ("pending", "failed")
RETRYABLE = ("failed", "exhausted")
USER_TRIGGERS = ("manual", "test")
# A claim outlives the longest send (the timeout) with room for resolving the host and
# recording; a killed worker's claim then expires and the sweeper picks the delivery up.
LEASE_MARGIN_SECONDS = 5


def max_attempts(policy):
    """How many attempts a retry policy makes: one more than it has delays."""
    return len(retry_delays(policy)) + 1


def retry_delays(policy):
    """The delays (seconds) of a policy, from settings."""
    key = "WEBHOOK_RETRY_DELAYS_QUICK" if policy == "quick" else "WEBHOOK_RETRY_DELAYS_STANDARD"
    return tuple(current_app.config[key])


# Endpoint rules --------------------------------------------------------------------------

def cancel_for_endpoint(endpoint_id) -> int:
    """Cancel every pending or scheduled delivery of an endpoint (not committed)."""
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.endpoint_id == endpoint_id, Delivery.status.in_(WAITING))
        .values(status="cancelled", next_attempt_at=None, locked_until=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def held_count(endpoint_id) -> int:
    """How many deliveries wait for this endpoint (pending or failed, not yet final)."""
    return db.session.execute(
        select(func.count(Delivery.id)).where(
            Delivery.endpoint_id == endpoint_id, Delivery.status.in_(WAITING)
        )
    ).scalar_one()


def release_held(endpoint_id, discard: bool) -> list[str]:
    """On resume: cancel the waiting deliveries (discard) or make them due now.

    Returns the ids made due, oldest first; not committed: the caller commits, then
    passes the ids to enqueue_deliveries().
    """
    if discard:
        cancel_for_endpoint(endpoint_id)
        return []
    ids = db.session.execute(
        select(Delivery.id)
        .where(Delivery.endpoint_id == endpoint_id, Delivery.status.in_(WAITING))
        .order_by(Delivery.created_at, Delivery.id)
    ).scalars().all()
    if ids:
        db.session.execute(
            update(Delivery)
            .where(Delivery.endpoint_id == endpoint_id, Delivery.status.in_(WAITING))
            .values(next_attempt_at=utcnow(), locked_until=None)
            .execution_options(synchronize_session=False)
        )
    return list(ids)


def request_attempts(org_id, delivery_ids, trigger) -> list[str]:
    """Ask for a new attempt now on failed or exhausted deliveries of this organization.

    Used by manual retry, replay and bulk retry; deliveries of deleted endpoints are left
    alone. Commits, enqueues, and returns the ids that were changed.
    """
    from ..jobs.enqueue import enqueue_deliveries

    delivery_ids = list(dict.fromkeys(delivery_ids))
    if not delivery_ids:
        return []
    live_endpoint = exists(
        select(Endpoint.id).where(
            Endpoint.id == Delivery.endpoint_id, Endpoint.deleted_at.is_(None)
        )
    )
    changed = []
    for start in range(0, len(delivery_ids), 500):
        chunk = delivery_ids[start:start + 500]
        changed += db.session.execute(
            update(Delivery)
            .where(
                Delivery.org_id == org_id,
                Delivery.id.in_(chunk),
                Delivery.status.in_(RETRYABLE),
                live_endpoint,
            )
            .values(
                status="pending",
                next_attempt_at=utcnow(),
                next_trigger=trigger,
                locked_until=None,
                updated_at=utcnow(),
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
    db.session.commit()
    enqueue_deliveries(changed)
    return changed


def replay(org_id, endpoint_id, since) -> int:
    """Resend every failed or exhausted delivery of an endpoint created at or after `since`."""
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


def send_test(endpoint, event_type):
    """Send the catalog sample of `event_type` to the endpoint now, through the same path.

    The test delivery is recorded with trigger 'test' and makes a single attempt; returns
    the delivery with its attempt recorded (`delivery.last_attempt`).
    """
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
    db.session.commit()
    attempt(delivery.id)
    db.session.expire_all()
    delivery = db.session.get(Delivery, delivery.id)
    delivery.last_attempt = db.session.execute(
        select(Attempt).where(Attempt.delivery_id == delivery.id).order_by(Attempt.number.desc())
    ).scalars().first()
    return delivery


class TestRefused(ValueError):
    """A test send was refused; the message is meant for the user."""


def test_webhook(org_id, actor, endpoint, event_type):
    """Send a test of one of the endpoint's event types and audit it; returns the delivery.

    Raises TestRefused when the type is not one the endpoint subscribes to.
    """
    if not isinstance(event_type, str) or event_type not in (endpoint.events or []):
        raise TestRefused("Choose one of the event types this webhook subscribes to")
    delivery = send_test(endpoint, event_type)
    audit.record(
        org_id, actor, "endpoint.test", "endpoint", endpoint.id,
        {"name": endpoint.name, "event_type": event_type, "delivery_id": delivery.id,
         "status": delivery.status},
    )
    return delivery


# One attempt -----------------------------------------------------------------------------

def claim(delivery_id, now=None):
    """Atomically take a due delivery for one attempt; None if it is not ours to send.

    One UPDATE … RETURNING: the delivery must be waiting, due, not leased by another
    worker, and its endpoint live; paused or disabled endpoints only get manual and
    test attempts. Commits the lease.
    """
    now = now or utcnow()
    lease = timedelta(
        seconds=2 * current_app.config["WEBHOOK_TIMEOUT_SECONDS"] + LEASE_MARGIN_SECONDS
    )
    endpoint_live = select(Endpoint.id).where(
        Endpoint.id == Delivery.endpoint_id, Endpoint.deleted_at.is_(None)
    )
    endpoint_sending = endpoint_live.where(
        Endpoint.is_active.is_(True), Endpoint.disabled_at.is_(None)
    )
    row = db.session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status.in_(WAITING),
            Delivery.next_attempt_at <= now,
            or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
            or_(
                exists(endpoint_sending),
                Delivery.next_trigger.in_(USER_TRIGGERS) & exists(endpoint_live),
            ),
        )
        .values(locked_until=now + lease, attempt_count=Delivery.attempt_count + 1)
        .returning(Delivery.attempt_count, Delivery.next_trigger)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    return row


def attempt(delivery_id):
    """Claim, render, sign, send and record one attempt of a delivery.

    Returns the recorded Attempt, or None when there was nothing to claim.
    """
    claimed = claim(delivery_id)
    if claimed is None:
        return None
    number, trigger = claimed
    delivery = db.session.get(Delivery, delivery_id)
    endpoint = db.session.get(Endpoint, delivery.endpoint_id)
    request = _build_request(delivery, endpoint)
    started = utcnow()
    if request.error:
        outcome = transport.Outcome(error=request.error)
    else:
        outcome = transport.post(
            endpoint.url,
            request.body,
            request.headers,
            timeout=current_app.config["WEBHOOK_TIMEOUT_SECONDS"],
            allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"],
        )
    return _record(delivery, endpoint, number, trigger, started, request, outcome)


class _Request:
    def __init__(self, body=b"", headers=None, shown_headers=None, error=None):
        self.body = body
        self.headers = headers or {}
        self.shown_headers = shown_headers or {}
        self.error = error


def _build_request(delivery, endpoint):
    """The body and headers of this attempt, and the headers as history shows them."""
    from . import endpoints as endpoint_rules

    try:
        body = payloads.request_body(delivery.payload, endpoint.body_template)
    except body_templates.BodyTemplateError as exc:
        return _Request(error=str(exc))
    config = current_app.config
    prefix = config["WEBHOOK_HEADER_PREFIX"]
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": config["WEBHOOK_USER_AGENT"],
        f"{prefix}-Event": delivery.event_type,
        f"{prefix}-Delivery": delivery.id,
        f"{prefix}-Timestamp": str(timestamp),
        **signing.signature_headers(
            body,
            endpoint_rules.signing_secrets(endpoint),
            message_id=delivery.event_id,
            timestamp=timestamp,
            prefix=prefix,
        ),
    }
    shown = dict(headers)
    for name, value in endpoint_rules.custom_headers(endpoint):
        headers[name] = value
        shown[name] = endpoint_rules.mask(value)
    return _Request(body, headers, shown)


def _record(delivery, endpoint, number, trigger, started, request, outcome):
    """Write the attempt, the delivery's new state and the endpoint's counters together."""
    now = utcnow()
    ok = outcome.ok
    db.session.add(
        Attempt(
            org_id=delivery.org_id,
            delivery_id=delivery.id,
            endpoint_id=endpoint.id,
            number=number,
            trigger=trigger,
            started_at=started,
            duration_ms=outcome.duration_ms,
            request_headers=request.shown_headers or None,
            request_body=request.body.decode("utf-8", errors="replace") if request.body else None,
            response_status=outcome.status,
            response_headers=outcome.headers or None,
            response_body=outcome.body or None,
            error=outcome.error,
            succeeded=ok,
        )
    )
    retry_at = None
    automatic = trigger not in USER_TRIGGERS
    last = trigger == "test" or number >= max_attempts(endpoint.retry_policy)
    if ok:
        state = {"status": "delivered", "delivered_at": now, "next_attempt_at": None}
    elif last:
        state = {"status": "exhausted", "next_attempt_at": None}
    else:
        delays = retry_delays(endpoint.retry_policy)
        retry_at = now + timedelta(seconds=delays[min(number, len(delays)) - 1])
        state = {"status": "failed", "next_attempt_at": retry_at, "next_trigger": "retry"}
    delivery_values = {
        "last_status_code": outcome.status,
        "last_error": outcome.error or (None if ok else f"HTTP {outcome.status}"),
        "locked_until": None,
        "updated_at": now,
        **state,
    }
    db.session.execute(
        update(Delivery).where(Delivery.id == delivery.id).values(**delivery_values)
        .execution_options(synchronize_session=False)
    )
    streak = _count_on_endpoint(endpoint.id, ok, now)
    _count_daily(endpoint, ok, now)
    if not ok and automatic:
        _apply_policy_rule(endpoint, state["status"], streak, now)
    db.session.commit()
    if retry_at is not None:
        from ..jobs.scheduling import schedule_attempt

        schedule_attempt(delivery.id, retry_at)
    db.session.expire_all()
    return db.session.execute(
        select(Attempt).where(Attempt.delivery_id == delivery.id, Attempt.number == number)
        .order_by(Attempt.id.desc())
    ).scalars().first()


def _count_on_endpoint(endpoint_id, ok, now):
    """Bump the endpoint's counters in SQL (safe with many workers); returns the streak."""
    values = {
        "total_attempts": Endpoint.total_attempts + 1,
        "last_attempt_at": now,
        "last_attempt_ok": ok,
        "last_delivery_at": now,
    }
    if ok:
        values |= {
            "successful_attempts": Endpoint.successful_attempts + 1,
            "consecutive_failures": 0,
        }
    else:
        values |= {
            "failed_attempts": Endpoint.failed_attempts + 1,
            "consecutive_failures": Endpoint.consecutive_failures + 1,
        }
    return db.session.execute(
        update(Endpoint).where(Endpoint.id == endpoint_id).values(**values)
        .returning(Endpoint.consecutive_failures)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def _count_daily(endpoint, ok, now):
    """Upsert today's (UTC) row of the endpoint's daily series."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    table = EndpointDailyStat.__table__
    column = "successful" if ok else "failed"
    statement = dialect.insert(table).values(
        endpoint_id=endpoint.id,
        day=now.date(),
        org_id=endpoint.org_id,
        successful=1 if ok else 0,
        failed=0 if ok else 1,
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.endpoint_id, table.c.day],
            set_={column: table.c[column] + 1},
        )
    )


def _apply_policy_rule(endpoint, status, streak, now):
    """Standard: an exhausted delivery disables the endpoint. Quick: a long streak pauses it."""
    if endpoint.retry_policy == "quick":
        limit = current_app.config["WEBHOOK_QUICK_PAUSE_AFTER"]
        if streak >= limit:
            db.session.execute(
                update(Endpoint)
                .where(Endpoint.id == endpoint.id, Endpoint.is_active.is_(True))
                .values(
                    is_active=False,
                    disabled_reason=f"Paused automatically after {streak} consecutive "
                    "failed attempts",
                )
                .execution_options(synchronize_session=False)
            )
    elif status == "exhausted":
        db.session.execute(
            update(Endpoint)
            .where(Endpoint.id == endpoint.id, Endpoint.disabled_at.is_(None))
            .values(
                disabled_at=now,
                disabled_reason=f"Disabled automatically: a delivery failed all "
                f"{max_attempts('standard')} attempts",
            )
            .execution_options(synchronize_session=False)
        )
