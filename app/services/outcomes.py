"""Recording attempt outcomes: attempt rows, delivery states, endpoint counters, daily series
and the retry policies' endpoint rules, whole in one transaction.

Only outcomes whose claim still holds its delivery are written (delivery_state.still_claimed);
a lost claim's outcome is dropped, logged and counted. When a group cannot be stored (a value
the database refuses, a constraint), each outcome is tried alone, and one that still cannot
be stored is recorded as a failed attempt saying so: one delivery's trouble is never its
neighbours'.
"""
import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from flask import current_app
from sqlalchemy import Integer, bindparam, case, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import Attempt, Endpoint, EndpointDailyStat, insert_or_update, utcnow
from . import after_commit, delivery_state, recordsets
from .delivery_state import USER_TRIGGERS
from .transport import Outcome, storable

log = logging.getLogger(__name__)

# What is kept of a request or response body in history; longer ones are marked truncated.
ATTEMPT_BODY_LIMIT = 64 * 1024
# Redis counter of outcomes dropped because their claim was lost (served by /metrics).
LOST_CLAIMS = "hookline:lost-claims"


def max_attempts(policy):
    """How many attempts a retry policy makes: one more than it has delays."""
    return len(retry_delays(policy)) + 1


def retry_delays(policy):
    """The delays (seconds) of a policy, from settings."""
    key = "WEBHOOK_RETRY_DELAYS_QUICK" if policy == "quick" else "WEBHOOK_RETRY_DELAYS_STANDARD"
    return tuple(current_app.config[key])


# A receiver's Retry-After is followed up to this far ahead.
RETRY_AFTER_MAX = timedelta(hours=24)
# Statuses whose Retry-After header is followed (Standard Webhooks: throttled, unavailable).
THROTTLED = (429, 503)
GONE = 410
GONE_REASON = "Receiver answered 410 Gone"


@dataclass(frozen=True)
class Stopped:
    """An endpoint an outcome just paused or disabled, and when."""

    endpoint_id: str
    kind: str  # paused | disabled
    reason: str
    last_error: str | None
    at: datetime


def retry_after(outcome, now):
    """When a throttled receiver (429, 503) asked to be tried again, from its Retry-After
    header (seconds or an HTTP date), at most RETRY_AFTER_MAX ahead; None when it did not."""
    if outcome.status not in THROTTLED:
        return None
    value = next((v for k, v in outcome.headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    try:
        if value.isdigit():
            at = now + timedelta(seconds=int(value))
        else:
            at = parsedate_to_datetime(value)
            if at.tzinfo is None:
                return None
    except (ValueError, TypeError, OverflowError):
        return None
    return min(at, now + RETRY_AFTER_MAX)


class _Tally:
    """What one group's outcomes add to one endpoint's counters, in order."""

    def __init__(self, target):
        self.target = target
        self.successful = 0
        self.failed = 0
        self.trailing_failures = 0
        self.last_ok = None
        self.timed_out = None  # True, False (the receiver answered) or None (neither)
        self.last_error = None
        self.automatic_failure = False
        self.automatic_exhausted = False
        self.gone = False
        self.finals = {"delivered": 0, "exhausted": 0, "cancelled": 0}

    def add(self, outcome, automatic, status):
        if outcome.ok:
            self.successful += 1
            self.trailing_failures = 0
        else:
            self.failed += 1
            self.trailing_failures += 1
            self.automatic_failure |= automatic
            self.automatic_exhausted |= automatic and status == "exhausted"
            self.gone |= outcome.status == GONE and outcome.error is None
            self.last_error = outcome.error or f"HTTP {outcome.status}"
        self.last_ok = outcome.ok
        if outcome.timed_out:
            self.timed_out = True
        elif outcome.status is not None:
            self.timed_out = False
        if status in self.finals:
            self.finals[status] += 1


def _kept(text):
    """(stored text, truncated) of a body, at most ATTEMPT_BODY_LIMIT characters."""
    if text is None:
        return None, False
    return storable(text[:ATTEMPT_BODY_LIMIT]), len(text) > ATTEMPT_BODY_LIMIT


def record(finished):
    """Write the outcomes of `finished` attempts, a list of (plan, started, Outcome): attempt
    rows, delivery states, endpoint counters, daily series and policy rules, in one
    transaction; then schedule the retries. Returns the endpoints this paused or disabled
    (a list of Stopped)."""
    try:
        return _record(finished)
    except SQLAlchemyError:
        db.session.rollback()
        if len(finished) == 1:
            return _record_unstorable(finished[0])
        log.warning("A group of %d outcomes could not be stored; recording each alone",
                    len(finished), exc_info=True)
    stopped = []
    for item in finished:
        try:
            stopped += _record([item])
        except SQLAlchemyError:
            db.session.rollback()
            stopped += _record_unstorable(item)
    return stopped


def _record_unstorable(item):
    plan, started, outcome = item
    log.exception("The outcome of delivery %s could not be stored", plan.delivery.id)
    plain = Outcome(
        status=outcome.status,
        error="The attempt's outcome could not be stored: " + (
            outcome.error or f"HTTP {outcome.status}"
        )[:200],
        duration_ms=outcome.duration_ms,
        remote_address=outcome.remote_address,
    )
    plain_plan = plan.without_body()
    try:
        return _record([(plain_plan, started, plain)])
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("Delivery %s is left to its lease", plan.delivery.id)
        return []


def _record(finished):
    now = utcnow()
    delivery_state.lock_endpoints({plan.target.id for plan, _, _ in finished})
    held = delivery_state.still_claimed([(plan.delivery.id, plan.token) for plan, _, _ in finished])
    lost = [plan.delivery.id for plan, _, _ in finished if plan.delivery.id not in held]
    if lost:
        log.warning("Claims lost before recording (outcomes dropped): %s", ", ".join(lost))
        after_commit.add("lost_claims", *lost)
    attempt_rows, delivery_rows, tallies = [], [], {}
    for plan, started, outcome in finished:
        if plan.delivery.id not in held:
            continue
        policy = plan.target.retry_policy
        state, retry_at = delivery_state.outcome_state(
            number=plan.number, trigger=plan.trigger, max_attempts=max_attempts(policy),
            delays=retry_delays(policy), ok=outcome.ok,
            endpoint_gone=held[plan.delivery.id], now=now,
            not_before=retry_after(outcome, now),
            gone=outcome.status == GONE and outcome.error is None,
        )
        if retry_at is not None:
            after_commit.add("schedule", (plan.delivery.id, retry_at))
        if plan.trigger == "test":
            after_commit.add("attempted", plan.delivery.id)
        attempt_rows.append(_attempt_row(plan, started, outcome))
        delivery_rows.append({
            "b_id": plan.delivery.id,
            "b_token": plan.token,
            "status": state["status"],
            "attempt_count": plan.number,
            "next_attempt_at": state["next_attempt_at"],
            "next_trigger": state.get("next_trigger", plan.trigger),
            "delivered_at": state.get("delivered_at", plan.delivery.delivered_at),
            "last_status_code": outcome.status,
            "last_error": storable(
                outcome.error or (None if outcome.ok else f"HTTP {outcome.status}")
            ),
            "updated_at": now,
        })
        tally = tallies.setdefault(plan.target.id, _Tally(plan.target))
        tally.add(outcome, plan.trigger not in USER_TRIGGERS, state["status"])
    if attempt_rows:
        if recordsets.on_postgresql():
            db.session.execute(_ATTEMPTS_PG, {"rows": recordsets.as_json(attempt_rows)})
        else:
            db.session.execute(insert(Attempt.__table__), attempt_rows)
        delivery_state.finish(delivery_rows)
        ordered = [tallies[key] for key in sorted(tallies)]
        streaks = _count_on_endpoints(ordered, now)
        _count_daily(ordered, now)
        stopped = [
            rule for tally in ordered if tally.automatic_failure or tally.gone
            for rule in [_apply_rules(tally, streaks.get(tally.target.id, 0), now)] if rule
        ]
    else:
        stopped = []
    if stopped:
        after_commit.add("endpoints_changed", *{plan.target.org_id for plan, _, _ in finished})
    db.session.commit()
    return stopped


def _attempt_row(plan, started, outcome):
    body = plan.request.body
    request_body, request_truncated = _kept(
        body.decode("utf-8", errors="replace") if body else None
    )
    response_body, response_truncated = _kept(outcome.body or None)
    return {
        "org_id": plan.delivery.org_id,
        "delivery_id": plan.delivery.id,
        "endpoint_id": plan.target.id,
        "number": plan.number,
        "trigger": plan.trigger,
        "started_at": started,
        "request_url": plan.target.url,
        "remote_address": storable(outcome.remote_address),
        "duration_ms": outcome.duration_ms,
        "request_headers": plan.request.shown_headers or None,
        "request_body": request_body,
        "request_truncated": request_truncated,
        "response_status": outcome.status,
        "response_headers": outcome.headers or None,
        "response_body": response_body,
        "response_truncated": response_truncated or outcome.truncated,
        "error": storable(outcome.error),
        "succeeded": outcome.ok,
    }


@functools.cache
def _endpoint_counts():
    """UPDATE endpoints adding one group's counts, for executemany (built once)."""
    table = Endpoint.__table__
    c = table.c
    successful = bindparam("b_successful", type_=Integer)
    failed = bindparam("b_failed", type_=Integer)
    now = bindparam("b_now", type_=c.last_attempt_at.type)
    timed_out = bindparam("b_timed_out", type_=Integer)
    return (
        update(table)
        .where(c.id == bindparam("b_id"))
        .values(
            total_attempts=c.total_attempts + successful + failed,
            successful_attempts=c.successful_attempts + successful,
            failed_attempts=c.failed_attempts + failed,
            # A success in the group ends the streak: what failed after it is the streak.
            consecutive_failures=case(
                (successful > 0, bindparam("b_trailing", type_=Integer)),
                else_=c.consecutive_failures + failed,
            ),
            last_attempt_at=now,
            last_attempt_ok=bindparam("b_last_ok", type_=c.last_attempt_ok.type),
            last_delivery_at=now,
            # 1: the last attempt timed out; 0: the receiver answered; -1: neither.
            timed_out_at=case((timed_out == 1, now), (timed_out == 0, None),
                              else_=c.timed_out_at),
            delivered_count=c.delivered_count + bindparam("b_delivered", type_=Integer),
            exhausted_count=c.exhausted_count + bindparam("b_exhausted", type_=Integer),
            cancelled_count=c.cancelled_count + bindparam("b_cancelled", type_=Integer),
            # Counters are not a change to the endpoint: its version (what workers keep of
            # it, and its updatedAt) stays.
            updated_at=c.updated_at,
        )
    )


# PostgreSQL: one statement per group (see recordsets).
_COUNTS_PG = text("""
UPDATE endpoints AS e SET
    total_attempts = e.total_attempts + v.b_successful + v.b_failed,
    successful_attempts = e.successful_attempts + v.b_successful,
    failed_attempts = e.failed_attempts + v.b_failed,
    consecutive_failures = CASE WHEN v.b_successful > 0 THEN v.b_trailing
                                ELSE e.consecutive_failures + v.b_failed END,
    last_attempt_at = v.b_now, last_attempt_ok = v.b_last_ok, last_delivery_at = v.b_now,
    timed_out_at = CASE v.b_timed_out WHEN 1 THEN v.b_now WHEN 0 THEN NULL
                                      ELSE e.timed_out_at END,
    delivered_count = e.delivered_count + v.b_delivered,
    exhausted_count = e.exhausted_count + v.b_exhausted,
    cancelled_count = e.cancelled_count + v.b_cancelled
FROM json_to_recordset(CAST(:rows AS json)) AS v(
    b_id text, b_successful integer, b_failed integer, b_trailing integer, b_now timestamptz,
    b_last_ok boolean, b_timed_out integer, b_delivered integer, b_exhausted integer,
    b_cancelled integer)
WHERE e.id = v.b_id
""")
_DAILY_PG = text("""
INSERT INTO endpoint_daily_stats (endpoint_id, day, org_id, successful, failed)
SELECT v.endpoint_id, v.day, v.org_id, v.successful, v.failed
FROM json_to_recordset(CAST(:rows AS json)) AS v(
    endpoint_id text, day date, org_id text, successful integer, failed integer)
ON CONFLICT (endpoint_id, day) DO UPDATE SET
    successful = endpoint_daily_stats.successful + excluded.successful,
    failed = endpoint_daily_stats.failed + excluded.failed
""")
_ATTEMPTS_PG = text("""
INSERT INTO attempts (org_id, delivery_id, endpoint_id, number, trigger, started_at,
                      request_url, remote_address, duration_ms, request_headers, request_body,
                      request_truncated, response_status, response_headers, response_body,
                      response_truncated, error, succeeded)
SELECT org_id, delivery_id, endpoint_id, number, trigger, started_at, request_url,
       remote_address, duration_ms, request_headers, request_body, request_truncated,
       response_status, response_headers, response_body, response_truncated, error, succeeded
FROM json_to_recordset(CAST(:rows AS json)) AS v(
    org_id text, delivery_id text, endpoint_id text, number integer, trigger text,
    started_at timestamptz, request_url text, remote_address text, duration_ms integer,
    request_headers json, request_body text, request_truncated boolean,
    response_status integer, response_headers json, response_body text,
    response_truncated boolean, error text, succeeded boolean)
""")


def _count_on_endpoints(tallies, now):
    """Add the group to the endpoints' counters in SQL (safe with many workers); returns
    {endpoint id: failure streak after it} for the endpoints with an automatic failure."""
    rows = [
        {
            "b_id": tally.target.id,
            "b_successful": tally.successful,
            "b_failed": tally.failed,
            "b_trailing": tally.trailing_failures,
            "b_now": now,
            "b_last_ok": tally.last_ok,
            "b_timed_out": {True: 1, False: 0, None: -1}[tally.timed_out],
            "b_delivered": tally.finals["delivered"],
            "b_exhausted": tally.finals["exhausted"],
            "b_cancelled": tally.finals["cancelled"],
        }
        for tally in tallies
    ]
    if recordsets.on_postgresql():
        db.session.execute(_COUNTS_PG, {"rows": recordsets.as_json(rows)})
    else:
        db.session.execute(_endpoint_counts(), rows)
    failing = [tally.target.id for tally in tallies
               if tally.automatic_failure or tally.gone]
    if not failing:
        return {}
    # These rows are locked by this transaction: the streaks read are this group's.
    return dict(db.session.execute(
        select(Endpoint.id, Endpoint.consecutive_failures).where(Endpoint.id.in_(failing))
    ).all())


def count_cancelled(endpoint_id, count):
    """Add deliveries cancelled by a delete to the endpoint's final counts (not committed)."""
    if count:
        db.session.execute(
            update(Endpoint)
            .where(Endpoint.id == endpoint_id)
            .values(cancelled_count=Endpoint.cancelled_count + count)
            .execution_options(synchronize_session=False)
        )


def _count_daily(tallies, now):
    """Upsert today's (UTC) row of each endpoint's daily series, one statement."""
    if recordsets.on_postgresql():
        db.session.execute(_DAILY_PG, {"rows": recordsets.as_json([
            {"endpoint_id": tally.target.id, "day": now.date(), "org_id": tally.target.org_id,
             "successful": tally.successful, "failed": tally.failed}
            for tally in tallies
        ])})
        return
    table = EndpointDailyStat.__table__
    statement = insert_or_update(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.endpoint_id, table.c.day],
        set_={
            "successful": table.c.successful + statement.excluded.successful,
            "failed": table.c.failed + statement.excluded.failed,
        },
    )
    db.session.execute(statement, [
        {
            "endpoint_id": tally.target.id,
            "day": now.date(),
            "org_id": tally.target.org_id,
            "successful": tally.successful,
            "failed": tally.failed,
        }
        for tally in tallies
    ])


def _apply_rules(tally, streak, now):
    """A receiver that answered 410 Gone disables its endpoint at once. Standard policy: an
    exhausted delivery disables the endpoint. Quick: a long streak pauses it. Each switches
    the endpoint's Active toggle off. Returns a Stopped, or None."""
    target = tally.target
    if tally.gone:
        return _disable(target, GONE_REASON, f"HTTP {GONE}", now)
    if target.retry_policy == "quick":
        if streak < current_app.config["WEBHOOK_QUICK_PAUSE_AFTER"]:
            return None
        reason = f"Paused automatically after {streak} consecutive failed attempts"
        result = db.session.execute(
            update(Endpoint)
            .where(Endpoint.id == target.id, Endpoint.is_active.is_(True))
            .values(is_active=False, disabled_reason=reason)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:
            return None
        return Stopped(target.id, "paused", reason, tally.last_error, now)
    if not tally.automatic_exhausted:
        return None
    reason = (f"Disabled automatically: a delivery failed all "
              f"{max_attempts('standard')} attempts")
    return _disable(target, reason, tally.last_error, now)


def _disable(target, reason, last_error, now):
    result = db.session.execute(
        update(Endpoint)
        .where(Endpoint.id == target.id, Endpoint.disabled_at.is_(None))
        .values(disabled_at=now, disabled_reason=reason, is_active=False)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        return None
    return Stopped(target.id, "disabled", reason, last_error, now)
