"""A delivery's state changes live here: claim, attempt, record, retry, hold, release, cancel."""
import functools
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, exists, func, or_, select, update

from .. import catalog
from ..extensions import db
from ..models import Attempt, Delivery, Endpoint, utcnow
from . import audit, body_templates, crypto, outcomes, payloads, signing, transport
from .outcomes import USER_TRIGGERS

WAITING = ("pending", "failed")
RETRYABLE = ("failed", "exhausted")
# A claim outlives the longest send (the timeout) with room for resolving the host and
# recording; a killed worker's claim then expires and the sweeper picks the delivery up.
LEASE_MARGIN_SECONDS = 5
# Successful outcomes recorded together (see _send_and_record).
RECORD_GROUP = 25
RECORD_SECONDS = 0.25


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
    recorded = attempt(delivery.id)
    db.session.refresh(delivery)
    delivery.last_attempt = recorded
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


# Attempts ----------------------------------------------------------------------------------

def claim(delivery_ids, now=None):
    """Atomically take due deliveries for one attempt each: {id: claimed row}.

    One UPDATE … RETURNING: a delivery must be waiting, due, not leased by another
    worker, and its endpoint live; paused or disabled endpoints only get manual and
    test attempts. Ids not returned are not ours to send. Each row has what the attempt
    needs (`attempt_count` is this attempt's number). Commits the lease.
    """
    now = now or utcnow()
    rows = db.session.execute(_claim_statement(), {
        "ids": list(delivery_ids),
        "now": now,
        "lease_end": now + timedelta(seconds=lease_seconds()),
    }).all()
    db.session.commit()
    return {row.id: row for row in rows}


def lease_seconds():
    """How long a claim holds a delivery: two timeouts (connect and read) plus a margin."""
    return 2 * current_app.config["WEBHOOK_TIMEOUT_SECONDS"] + LEASE_MARGIN_SECONDS


def _claimable(now):
    """Conditions under which a delivery may be claimed at `now` (a value or a bindparam)."""
    endpoint_live = select(Endpoint.id).where(
        Endpoint.id == Delivery.endpoint_id, Endpoint.deleted_at.is_(None)
    )
    endpoint_sending = endpoint_live.where(
        Endpoint.is_active.is_(True), Endpoint.disabled_at.is_(None)
    )
    return (
        Delivery.waiting(),
        Delivery.next_attempt_at <= now,
        or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
        or_(
            exists(endpoint_sending),
            Delivery.next_trigger.in_(USER_TRIGGERS) & exists(endpoint_live),
        ),
    )


def _time_param(name):
    return bindparam(name, type_=Delivery.next_attempt_at.type)


@functools.cache
def _claim_statement():
    """The claim, built once (every worker runs it for every batch)."""
    return (
        update(Delivery)
        .where(Delivery.id.in_(bindparam("ids", expanding=True)), *_claimable(_time_param("now")))
        .values(locked_until=_time_param("lease_end"), attempt_count=Delivery.attempt_count + 1)
        .returning(
            Delivery.id, Delivery.attempt_count, Delivery.next_trigger, Delivery.org_id,
            Delivery.endpoint_id, Delivery.event_id, Delivery.event_type, Delivery.payload,
            Delivery.delivered_at,
        )
        .execution_options(synchronize_session=False)
    )


@functools.cache
def _due_statement(limit):
    """Due deliveries, the longest waiting first, built once per limit."""
    return (
        select(Delivery.id)
        .where(*_claimable(_time_param("now")), Delivery.next_attempt_at <= _time_param("due_by"))
        .order_by(Delivery.next_attempt_at, Delivery.created_at)
        .limit(limit)
    )


def due_ids(limit, now=None, grace_seconds=0):
    """Ids of deliveries that can be claimed now (due for at least `grace_seconds`),
    the longest waiting first."""
    now = now or utcnow()
    ids = db.session.execute(
        _due_statement(limit), {"now": now, "due_by": now - timedelta(seconds=grace_seconds)}
    ).scalars().all()
    db.session.commit()
    return list(ids)


def attempt(delivery_id):
    """Claim, render, sign, send and record one attempt of a delivery.

    Returns the recorded Attempt, or None when there was nothing to claim.
    """
    claimed = attempt_many([delivery_id])
    if not claimed:
        return None
    return db.session.execute(
        select(Attempt).where(Attempt.delivery_id == delivery_id)
        .order_by(Attempt.number.desc(), Attempt.id.desc())
    ).scalars().first()


def attempt_many(delivery_ids):
    """One attempt for each of these deliveries that can be claimed; returns their ids.

    One UPDATE claims them all; the sends run several endpoints at a time (each endpoint's
    in order) and every outcome (attempt row, delivery state, endpoint counters, daily
    series, policy rule) is written whole in one transaction, then its retry is scheduled.
    """
    claimed_at = utcnow()
    # Plain rows and snapshots: each outcome commits, and ORM objects would be reloaded.
    rows = claim(delivery_ids, claimed_at)
    if not rows:
        return []
    endpoints = {
        row.id: row
        for row in db.session.execute(
            select(Endpoint).where(Endpoint.id.in_({d.endpoint_id for d in rows.values()}))
        ).scalars()
    }
    targets = {key: _Target.of(endpoint) for key, endpoint in endpoints.items()}
    secrets = {}
    plans = []
    for delivery_id in dict.fromkeys(delivery_ids):
        if delivery_id not in rows:
            continue
        delivery = rows[delivery_id]
        endpoint = endpoints[delivery.endpoint_id]
        request = _build_request(delivery, endpoint, secrets)
        plans.append(_Plan(
            delivery, targets[endpoint.id], delivery.attempt_count, delivery.next_trigger, request
        ))
    return _send_and_record(plans, claimed_at + timedelta(seconds=lease_seconds()))


class _Request:
    def __init__(self, body=b"", headers=None, shown_headers=None, error=None):
        self.body = body
        self.headers = headers or {}
        self.shown_headers = shown_headers or {}
        self.error = error


@dataclass(frozen=True)
class _Target:
    """What sending and recording need of an endpoint, read once per batch."""

    id: str
    org_id: str
    url: str
    retry_policy: str

    @classmethod
    def of(cls, endpoint):
        return cls(endpoint.id, endpoint.org_id, endpoint.url, endpoint.retry_policy)


class _Plan:
    def __init__(self, delivery, endpoint, number, trigger, request):
        self.delivery = delivery
        self.endpoint = endpoint
        self.number = number
        self.trigger = trigger
        self.request = request


def _build_request(delivery, endpoint, secrets):
    """The body and headers of this attempt, and the headers as history shows them."""
    from . import endpoints as endpoint_rules

    try:
        body = payloads.request_body(delivery.payload, endpoint.body_template)
    except body_templates.BodyTemplateError as exc:
        return _Request(error=str(exc))
    if endpoint.id not in secrets:
        try:
            secrets[endpoint.id] = (
                endpoint_rules.signing_secrets(endpoint), endpoint_rules.custom_headers(endpoint)
            )
        except crypto.DecryptionError:
            # A changed encryption key: fail the attempt visibly rather than loop forever.
            secrets[endpoint.id] = None
    if secrets[endpoint.id] is None:
        return _Request(error="Signing secret cannot be decrypted: check WEBHOOK_ENCRYPTION_KEY")
    signing_secrets, custom = secrets[endpoint.id]
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
            body, signing_secrets, message_id=delivery.event_id, timestamp=timestamp,
            prefix=prefix,
        ),
    }
    shown = dict(headers)
    for name, value in custom:
        headers[name] = value
        shown[name] = endpoint_rules.mask(value)
    return _Request(body, headers, shown)


def _send_and_record(plans, lease_end):
    """Send the plans, several endpoints at a time, and record the outcomes; returns the ids
    attempted.

    Each endpoint's plans form a lane sent in order, one at a time (a receiver gets the
    oldest first); up to WEBHOOK_SEND_CONCURRENCY lanes send at once from this process's
    send pool, so one slow receiver does not hold up the others and the network waits
    overlap. Outcomes are recorded in groups (RECORD_GROUP, or RECORD_SECONDS after the
    first) to spare a commit per attempt; a failure is recorded as soon as it comes back,
    before its lane sends again, so the policy rules see every failure as it happens. Each
    transaction holds whole outcomes: attempt, delivery state, counters. A crash can resend
    at most what was sent and not yet recorded: one group and the sends in flight.

    Stops before a send that might outlast the claim's lease (slow receivers), skips the
    automatic attempts of an endpoint that was just paused or disabled, and hands those
    claims back, so no delivery is held past its lease or sent to a stopped endpoint.
    """
    config = current_app.config
    timeout = config["WEBHOOK_TIMEOUT_SECONDS"]
    allow_private = config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]
    worst_send = timedelta(seconds=2 * timeout)
    lanes = {}
    for plan in plans:
        lanes.setdefault(plan.endpoint.id, deque()).append(plan)
    idle_lanes = deque(lanes)
    width = max(1, config["WEBHOOK_SEND_CONCURRENCY"]) if len(lanes) > 1 else 1
    pool = transport.send_pool(width)
    sending = {}  # future → (plan, started)
    attempted, stopped, unused = [], set(), []
    group, results = [], []

    def send_next(lane):
        """Start the lane's next send; False when the lane has nothing left to send."""
        while lane:
            plan = lane.popleft()
            if plan.endpoint.id in stopped and plan.trigger not in USER_TRIGGERS:
                unused.append(plan)
                continue
            started = utcnow()
            if (attempted or sending) and started + worst_send > lease_end:
                unused.append(plan)
                unused.extend(lane)
                lane.clear()
                return False
            future = pool.submit(_send, plan.endpoint.url, plan.request, timeout, allow_private)
            sending[future] = (plan, started)
            return True
        return False

    def fill():
        while len(sending) < width and idle_lanes:
            send_next(lanes[idle_lanes.popleft()])

    fill()
    while sending:
        done, _ = wait(sending, return_when=FIRST_COMPLETED)
        finished = sorted(
            ((sending.pop(future), future) for future in done), key=lambda item: item[0][1]
        )
        failed = False
        for (plan, started), future in finished:
            outcome = future.result()
            group.append(plan)
            results.append((started, outcome))
            attempted.append(plan.delivery.id)
            failed |= not outcome.ok
        if (failed or len(group) >= RECORD_GROUP
                or utcnow() - results[0][0] >= timedelta(seconds=RECORD_SECONDS)):
            stopped |= outcomes.record(group, results)
            group, results = [], []
        for (plan, _), _ in finished:
            send_next(lanes[plan.endpoint.id])
        fill()
    if group:
        outcomes.record(group, results)
    if unused:
        _hand_back(unused)
    return attempted


def _send(url, request, timeout, allow_private):
    """One POST, or the error that kept the request from being built."""
    if request.error:
        return transport.Outcome(error=request.error)
    return transport.post(
        url, request.body, request.headers, timeout=timeout, allow_private=allow_private
    )


def _hand_back(plans):
    """Release claims that were not used, as if they had never been taken."""
    db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_([plan.delivery.id for plan in plans]))
        .values(locked_until=None, attempt_count=Delivery.attempt_count - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
