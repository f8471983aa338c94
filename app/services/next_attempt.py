"""When a delivery's next attempt happens, and why then: the one place that explains it."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select, text, tuple_
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import WAITING_PREDICATE, Delivery, utcnow
from .delivery_state import USER_TRIGGERS
from .docs import human_duration
from .outcomes import GONE, THROTTLED, max_attempts, retry_delays


@dataclass(frozen=True)
class NextAttempt:
    """What happens next to a delivery.

    `kind` is one of: delivered, exhausted, gone, test, cancelled, sending, held_paused,
    held_disabled, deleted, ordered, requested, queued, scheduled, due. `at` is when the next
    attempt is due (None when none is planned or it waits for something else); `reason` says
    why, in words.
    """

    kind: str
    reason: str
    at: datetime | None = None

    @property
    def waiting(self):
        """True while another attempt will happen without anyone doing anything."""
        return self.kind in ("sending", "ordered", "requested", "queued", "scheduled", "due")


def _retry_after(attempt):
    """The Retry-After a throttled receiver answered on this attempt, or None."""
    if attempt is None or attempt.response_status not in THROTTLED:
        return None
    headers = attempt.response_headers or {}
    return next((value for name, value in headers.items() if name.lower() == "retry-after"),
                None)


def _policy_reason(delivery, endpoint, now, last_attempt):
    """A failed delivery waiting out its retry policy's delay, or the receiver's Retry-After."""
    done = delivery.attempt_count
    delays = retry_delays(endpoint.retry_policy)
    delay = delays[min(max(done, 1), len(delays)) - 1]
    number = done + 1
    total = max(max_attempts(endpoint.retry_policy), number)
    asked = _retry_after(last_attempt)
    if asked is not None:
        why = (f"the receiver answered {last_attempt.response_status} with Retry-After: "
               f"{asked} (the {endpoint.retry_policy} retry policy alone would wait "
               f"{human_duration(delay)})")
    else:
        why = (f"the {endpoint.retry_policy} retry policy waits {human_duration(delay)} "
               f"after attempt {done}")
    if delivery.next_attempt_at <= now:
        return NextAttempt("due", f"Attempt {number} of {total} is due and waiting for a "
                                  f"worker ({why}).", delivery.next_attempt_at)
    return NextAttempt("scheduled", f"Attempt {number} of {total}: {why}.",
                       delivery.next_attempt_at)


def _earlier_waiting(delivery):
    """Whether an earlier delivery to the same endpoint is still waiting (or being sent)."""
    earlier = aliased(Delivery, name="earlier")
    return db.session.execute(select(exists(select(earlier.id).where(
        earlier.endpoint_id == delivery.endpoint_id,
        text(f"earlier.{WAITING_PREDICATE}"),
        tuple_(earlier.created_at, earlier.id) < tuple_(delivery.created_at, delivery.id),
    )))).scalar()


def _with_rate_limit(found, endpoint):
    """A waiting delivery of a rate-limited endpoint also waits its turn under the limit."""
    if not endpoint.rate_limit or found.kind not in ("queued", "due", "requested"):
        return found
    return NextAttempt(found.kind, f"{found.reason} This endpoint takes at most "
                                   f"{endpoint.rate_limit} deliveries a second: over that, a "
                                   f"delivery waits its turn.", found.at)


def explain(delivery, endpoint, now=None, last_attempt=None) -> NextAttempt:
    """The next attempt of `delivery` (its `endpoint` given; `last_attempt`, its latest
    attempt, when at hand) and the reason for its time.

    Final states have none (a 410 Gone says so); a live claim means an attempt is being sent
    now; a paused or disabled endpoint holds automatic attempts (never a "next attempt" in
    the past); an ordered endpoint's delivery waits for the earlier ones; otherwise the first
    attempt is queued, or the retry policy's delay or the receiver's Retry-After sets the
    time, and a rate limit may make it wait its turn. Reads the database only for a waiting
    delivery of an ordered endpoint.
    """
    now = now or utcnow()
    if delivery.status == "delivered":
        return NextAttempt("delivered", "Delivered: no more attempts.")
    if delivery.status == "cancelled":
        return NextAttempt("cancelled", "Cancelled because the endpoint was deleted: it is "
                                        "never attempted again.")
    if delivery.status == "exhausted":
        if delivery.next_trigger == "test":
            return NextAttempt("test", "A test send makes one attempt and is not retried.")
        if delivery.last_status_code == GONE:
            return NextAttempt("gone", "The receiver answered 410 Gone: no more attempts, and "
                                       "the endpoint was disabled.")
        return NextAttempt("exhausted", f"No attempts left: {delivery.attempt_count} attempts "
                                        f"failed. Retry sends one more now.")
    if delivery.locked_until is not None and delivery.locked_until > now:
        return NextAttempt("sending", "An attempt is being sent right now.")
    if endpoint.deleted_at is not None:
        return NextAttempt("deleted", "The endpoint was deleted: this delivery is not sent.")
    user_asked = delivery.next_trigger in USER_TRIGGERS
    if not user_asked and endpoint.disabled_at is not None:
        why = f" ({endpoint.disabled_reason})" if endpoint.disabled_reason else ""
        return NextAttempt("held_disabled", f"Held: the endpoint is disabled{why}. It is sent "
                                            "when someone switches the endpoint back on.")
    if not user_asked and not endpoint.is_active:
        why = f" ({endpoint.disabled_reason})" if endpoint.disabled_reason else ""
        return NextAttempt("held_paused", f"Held: the endpoint is paused{why}. It is sent "
                                          "when someone resumes the endpoint.")
    if endpoint.ordered and _earlier_waiting(delivery):
        return NextAttempt("ordered", "Waiting for an earlier delivery: this endpoint gets one "
                                      "delivery at a time, in the order the events happened.")
    if user_asked:
        found = NextAttempt("requested", "A retry was asked for: it is sent as soon as a "
                                         "worker takes it.", delivery.next_attempt_at)
    elif delivery.status == "failed" and delivery.attempt_count and delivery.next_attempt_at:
        found = _policy_reason(delivery, endpoint, now, last_attempt)
    else:
        found = NextAttempt("queued", "Queued: the first attempt is sent as soon as a worker "
                                      "takes it.", delivery.next_attempt_at)
    return _with_rate_limit(found, endpoint)
