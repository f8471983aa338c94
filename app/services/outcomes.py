"""Recording attempt outcomes: attempt rows, delivery states, endpoint counters, daily series
and the retry policies' endpoint rules, whole in one transaction (DESIGN.md invariant 4)."""
import functools
from datetime import timedelta

from flask import current_app
from sqlalchemy import Integer, bindparam, case, insert, select, update

from ..extensions import db
from ..models import Attempt, Delivery, Endpoint, EndpointDailyStat, insert_or_update, utcnow

USER_TRIGGERS = ("manual", "test")


def max_attempts(policy):
    """How many attempts a retry policy makes: one more than it has delays."""
    return len(retry_delays(policy)) + 1


def retry_delays(policy):
    """The delays (seconds) of a policy, from settings."""
    key = "WEBHOOK_RETRY_DELAYS_QUICK" if policy == "quick" else "WEBHOOK_RETRY_DELAYS_STANDARD"
    return tuple(current_app.config[key])


class _Tally:
    """What one group's outcomes add to one endpoint's counters, in order."""

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


def record(plans, results):
    """Write the attempts of `plans` (with their (started, Outcome) `results`), the deliveries'
    new states, the endpoints' counters and daily series and the policy rules in one
    transaction, then schedule the retries; returns the ids of endpoints just paused or
    disabled.

    A statement per table, whatever the group's size: one executemany each.
    """
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
            "request_url": plan.endpoint.url,
            "remote_address": outcome.remote_address,
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
            "b_id": plan.delivery.id,
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
    db.session.execute(insert(Attempt.__table__), attempt_rows)
    db.session.execute(_delivery_states(), delivery_rows)
    # Endpoint rows in one order for every worker, so concurrent groups cannot deadlock.
    ordered = [tallies[key] for key in sorted(tallies)]
    streaks = _count_on_endpoints(ordered, now)
    _count_daily(ordered, now)
    stopped = {
        tally.endpoint.id
        for tally in ordered
        if tally.automatic_failure and _apply_policy_rule(tally, streaks[tally.endpoint.id], now)
    }
    db.session.commit()
    if retries:
        from ..jobs.scheduling import schedule_attempt

        for delivery_id, retry_at in retries:
            schedule_attempt(delivery_id, retry_at)
    return stopped


@functools.cache
def _delivery_states():
    """UPDATE deliveries by id, for executemany: the columns set are the rows' other keys."""
    table = Delivery.__table__
    return update(table).where(table.c.id == bindparam("b_id"))


@functools.cache
def _endpoint_counts():
    """UPDATE endpoints adding one group's counts, for executemany (built once)."""
    table = Endpoint.__table__
    c = table.c
    successful = bindparam("b_successful", type_=Integer)
    failed = bindparam("b_failed", type_=Integer)
    now = bindparam("b_now", type_=c.last_attempt_at.type)
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
        )
    )


def _count_on_endpoints(tallies, now):
    """Add the group to the endpoints' counters in SQL (safe with many workers); returns
    {endpoint id: failure streak after it} for the endpoints with an automatic failure."""
    db.session.execute(_endpoint_counts(), [
        {
            "b_id": tally.endpoint.id,
            "b_successful": tally.successful,
            "b_failed": tally.failed,
            "b_trailing": tally.trailing_failures,
            "b_now": now,
            "b_last_ok": tally.last_ok,
        }
        for tally in tallies
    ])
    failing = [tally.endpoint.id for tally in tallies if tally.automatic_failure]
    if not failing:
        return {}
    # These rows are locked by the update above: the streaks read are this group's.
    return dict(db.session.execute(
        select(Endpoint.id, Endpoint.consecutive_failures).where(Endpoint.id.in_(failing))
    ).all())


def _count_daily(tallies, now):
    """Upsert today's (UTC) row of each endpoint's daily series, one statement."""
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
            "endpoint_id": tally.endpoint.id,
            "day": now.date(),
            "org_id": tally.endpoint.org_id,
            "successful": tally.successful,
            "failed": tally.failed,
        }
        for tally in tallies
    ])


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
