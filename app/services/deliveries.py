"""A delivery's state changes live here: claim, attempt, record, retry, hold, release, cancel."""
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import exists, func, insert, or_, select, update

from .. import catalog
from ..extensions import db
from ..models import Attempt, Delivery, Endpoint, EndpointDailyStat, insert_or_update, utcnow
from . import audit, body_templates, crypto, payloads, signing, transport

WAITING = ("pending", "failed")
RETRYABLE = ("failed", "exhausted")
USER_TRIGGERS = ("manual", "test")
# A claim outlives the longest send (the timeout) with room for resolving the host and
# recording; a killed worker's claim then expires and the sweeper picks the delivery up.
LEASE_MARGIN_SECONDS = 5
# Successful outcomes recorded together (see _send_and_record).
RECORD_GROUP = 10
RECORD_SECONDS = 0.25


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
    """Atomically take due deliveries for one attempt each: {id: (number, trigger)}.

    One UPDATE … RETURNING: a delivery must be waiting, due, not leased by another
    worker, and its endpoint live; paused or disabled endpoints only get manual and
    test attempts. Ids not returned are not ours to send. Commits the lease.
    """
    now = now or utcnow()
    lease = timedelta(seconds=lease_seconds())
    rows = db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)), *_claimable(now))
        .values(locked_until=now + lease, attempt_count=Delivery.attempt_count + 1)
        .returning(Delivery.id, Delivery.attempt_count, Delivery.next_trigger)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return {row.id: (row.attempt_count, row.next_trigger) for row in rows}


def lease_seconds():
    """How long a claim holds a delivery: two timeouts (connect and read) plus a margin."""
    return 2 * current_app.config["WEBHOOK_TIMEOUT_SECONDS"] + LEASE_MARGIN_SECONDS


def _claimable(now):
    """Conditions under which a delivery may be claimed now."""
    endpoint_live = select(Endpoint.id).where(
        Endpoint.id == Delivery.endpoint_id, Endpoint.deleted_at.is_(None)
    )
    endpoint_sending = endpoint_live.where(
        Endpoint.is_active.is_(True), Endpoint.disabled_at.is_(None)
    )
    return (
        Delivery.status.in_(WAITING),
        Delivery.next_attempt_at <= now,
        or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
        or_(
            exists(endpoint_sending),
            Delivery.next_trigger.in_(USER_TRIGGERS) & exists(endpoint_live),
        ),
    )


def due_ids(limit, now=None, grace_seconds=0):
    """Ids of deliveries that can be claimed now (due for at least `grace_seconds`),
    the longest waiting first."""
    now = now or utcnow()
    ids = db.session.execute(
        select(Delivery.id)
        .where(*_claimable(now), Delivery.next_attempt_at <= now - timedelta(seconds=grace_seconds))
        .order_by(Delivery.next_attempt_at, Delivery.created_at)
        .limit(limit)
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

    One UPDATE claims them all; the sends run one after the other and every outcome (attempt
    row, delivery state, endpoint counters, daily series, policy rule) is written whole in
    one transaction, then its retry is scheduled.
    """
    claimed_at = utcnow()
    claimed = claim(delivery_ids, claimed_at)
    if not claimed:
        return []
    # Plain rows and snapshots: each outcome commits, and ORM objects would be reloaded.
    rows = {
        row.id: row
        for row in db.session.execute(
            select(
                Delivery.id, Delivery.org_id, Delivery.endpoint_id, Delivery.event_id,
                Delivery.event_type, Delivery.payload, Delivery.next_trigger,
                Delivery.delivered_at,
            ).where(Delivery.id.in_(list(claimed)))
        )
    }
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
        if delivery_id not in claimed:
            continue
        delivery = rows[delivery_id]
        endpoint = endpoints[delivery.endpoint_id]
        number, trigger = claimed[delivery_id]
        request = _build_request(delivery, endpoint, secrets)
        plans.append(_Plan(delivery, targets[endpoint.id], number, trigger, request))
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
    """Send the plans in order (a receiver gets the oldest first) and record the outcomes;
    returns the ids attempted.

    Successes are recorded in small groups (RECORD_GROUP, or RECORD_SECONDS after the first)
    to spare a commit per attempt; a failure is recorded at once with what came before it,
    so the policy rules see every failure as it happens. Each transaction holds whole
    outcomes: attempt, delivery state, counters. A crash can resend at most one group.

    Stops before a send that might outlast the claim's lease (slow receivers), skips the
    automatic attempts of an endpoint that was just paused or disabled, and hands those
    claims back, so no delivery is held past its lease or sent to a stopped endpoint.
    """
    timeout = current_app.config["WEBHOOK_TIMEOUT_SECONDS"]
    allow_private = current_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]
    worst_send = timedelta(seconds=2 * timeout)
    attempted, stopped, unused = [], set(), []
    group, results = [], []
    for index, plan in enumerate(plans):
        started = utcnow()
        if attempted and started + worst_send > lease_end:
            unused += plans[index:]
            break
        if plan.endpoint.id in stopped and plan.trigger not in USER_TRIGGERS:
            unused.append(plan)
            continue
        if plan.request.error:
            outcome = transport.Outcome(error=plan.request.error)
        else:
            outcome = transport.post(
                plan.endpoint.url, plan.request.body, plan.request.headers,
                timeout=timeout, allow_private=allow_private,
            )
        group.append(plan)
        results.append((started, outcome))
        attempted.append(plan.delivery.id)
        waited = utcnow() - results[0][0]
        if (not outcome.ok or len(group) >= RECORD_GROUP
                or waited >= timedelta(seconds=RECORD_SECONDS)):
            stopped |= _record(group, results)
            group, results = [], []
    if group:
        _record(group, results)
    if unused:
        _hand_back(unused)
    return attempted


def _hand_back(plans):
    """Release claims that were not used, as if they had never been taken."""
    db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_([plan.delivery.id for plan in plans]))
        .values(locked_until=None, attempt_count=Delivery.attempt_count - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


class _Tally:
    """What one batch's outcomes add to one endpoint's counters, in order."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.successful = 0
        self.failed = 0
        self.trailing_failures = 0
        self.last_ok = None
        self.automatic_failure = False
        self.automatic_exhausted = False

    def add(self, ok, automatic, status):
        if ok:
            self.successful += 1
            self.trailing_failures = 0
        else:
            self.failed += 1
            self.trailing_failures += 1
            self.automatic_failure |= automatic
            self.automatic_exhausted |= automatic and status == "exhausted"
        self.last_ok = ok


def _next_state(plan, ok, now):
    """The delivery's new state after this attempt, and when to retry (or None)."""
    if ok:
        return {"status": "delivered", "delivered_at": now, "next_attempt_at": None}, None
    policy = plan.endpoint.retry_policy
    if plan.trigger == "test" or plan.number >= max_attempts(policy):
        return {"status": "exhausted", "next_attempt_at": None}, None
    delays = retry_delays(policy)
    retry_at = now + timedelta(seconds=delays[min(plan.number, len(delays)) - 1])
    return {"status": "failed", "next_attempt_at": retry_at, "next_trigger": "retry"}, retry_at


def _record(plans, results):
    """Write attempts, delivery states, endpoint counters and rules in one transaction;
    returns the ids of endpoints the policy rules just paused or disabled."""
    now = utcnow()
    attempt_rows, delivery_rows, tallies, retries = [], [], {}, []
    for plan, (started, outcome) in zip(plans, results, strict=True):
        ok = outcome.ok
        state, retry_at = _next_state(plan, ok, now)
        if retry_at is not None:
            retries.append((plan.delivery.id, retry_at))
        body = plan.request.body
        attempt_rows.append({
            "org_id": plan.delivery.org_id,
            "delivery_id": plan.delivery.id,
            "endpoint_id": plan.endpoint.id,
            "number": plan.number,
            "trigger": plan.trigger,
            "started_at": started,
            "duration_ms": outcome.duration_ms,
            "request_headers": plan.request.shown_headers or None,
            "request_body": body.decode("utf-8", errors="replace") if body else None,
            "response_status": outcome.status,
            "response_headers": outcome.headers or None,
            "response_body": outcome.body or None,
            "error": outcome.error,
            "succeeded": ok,
        })
        delivery_rows.append({
            "id": plan.delivery.id,
            "status": state["status"],
            "next_attempt_at": state["next_attempt_at"],
            "next_trigger": state.get("next_trigger", plan.delivery.next_trigger),
            "delivered_at": state.get("delivered_at", plan.delivery.delivered_at),
            "last_status_code": outcome.status,
            "last_error": outcome.error or (None if ok else f"HTTP {outcome.status}"),
            "locked_until": None,
            "updated_at": now,
        })
        tally = tallies.setdefault(plan.endpoint.id, _Tally(plan.endpoint))
        tally.add(ok, plan.trigger not in USER_TRIGGERS, state["status"])
    db.session.execute(insert(Attempt), attempt_rows)
    db.session.execute(update(Delivery), delivery_rows)
    stopped = set()
    # Endpoint rows in one order for every worker, so concurrent groups cannot deadlock.
    for _, tally in sorted(tallies.items()):
        streak = _count_on_endpoint(tally, now)
        _count_daily(tally, now)
        if tally.automatic_failure and _apply_policy_rule(tally, streak, now):
            stopped.add(tally.endpoint.id)
    db.session.commit()
    if retries:
        from ..jobs.scheduling import schedule_attempt

        for delivery_id, retry_at in retries:
            schedule_attempt(delivery_id, retry_at)
    return stopped


def _count_on_endpoint(tally, now):
    """Add a batch to the endpoint's counters in SQL (safe with many workers); returns
    the failure streak after it."""
    if tally.successful:
        streak = tally.trailing_failures
    else:
        streak = Endpoint.consecutive_failures + tally.failed
    return db.session.execute(
        update(Endpoint)
        .where(Endpoint.id == tally.endpoint.id)
        .values(
            total_attempts=Endpoint.total_attempts + tally.successful + tally.failed,
            successful_attempts=Endpoint.successful_attempts + tally.successful,
            failed_attempts=Endpoint.failed_attempts + tally.failed,
            consecutive_failures=streak,
            last_attempt_at=now,
            last_attempt_ok=tally.last_ok,
            last_delivery_at=now,
        )
        .returning(Endpoint.consecutive_failures)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def _count_daily(tally, now):
    """Upsert today's (UTC) row of the endpoint's daily series."""
    table = EndpointDailyStat.__table__
    statement = insert_or_update(table).values(
        endpoint_id=tally.endpoint.id,
        day=now.date(),
        org_id=tally.endpoint.org_id,
        successful=tally.successful,
        failed=tally.failed,
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.endpoint_id, table.c.day],
            set_={
                "successful": table.c.successful + tally.successful,
                "failed": table.c.failed + tally.failed,
            },
        )
    )


def _apply_policy_rule(tally, streak, now):
    """Standard: an exhausted delivery disables the endpoint. Quick: a long streak pauses it.

    Returns True when this stopped the endpoint.
    """
    endpoint = tally.endpoint
    if endpoint.retry_policy == "quick":
        if streak < current_app.config["WEBHOOK_QUICK_PAUSE_AFTER"]:
            return False
        result = db.session.execute(
            update(Endpoint)
            .where(Endpoint.id == endpoint.id, Endpoint.is_active.is_(True))
            .values(
                is_active=False,
                disabled_reason=f"Paused automatically after {streak} consecutive "
                "failed attempts",
            )
            .execution_options(synchronize_session=False)
        )
        return result.rowcount > 0
    if not tally.automatic_exhausted:
        return False
    result = db.session.execute(
        update(Endpoint)
        .where(Endpoint.id == endpoint.id, Endpoint.disabled_at.is_(None))
        .values(
            disabled_at=now,
            disabled_reason=f"Disabled automatically: a delivery failed all "
            f"{max_attempts('standard')} attempts",
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount > 0
