"""When a delivery's next attempt happens, and why then: the one place that explains it."""
from dataclasses import dataclass
from datetime import datetime

from ..models import utcnow
from .delivery_state import USER_TRIGGERS
from .docs import human_duration
from .outcomes import max_attempts, retry_delays


@dataclass(frozen=True)
class NextAttempt:
    """What happens next to a delivery.

    `kind` is one of: delivered, exhausted, test, cancelled, sending, held_paused,
    held_disabled, deleted, requested, queued, scheduled, due. `at` is when the next attempt
    is due (None when none is planned or it waits for someone); `reason` says why, in words.
    """

    kind: str
    reason: str
    at: datetime | None = None

    @property
    def waiting(self):
        """True while another attempt will happen without anyone doing anything."""
        return self.kind in ("sending", "requested", "queued", "scheduled", "due")


def _policy_reason(delivery, endpoint, now):
    """A failed delivery waiting out its retry policy's delay."""
    done = delivery.attempt_count
    total = max_attempts(endpoint.retry_policy)
    delays = retry_delays(endpoint.retry_policy)
    delay = delays[min(max(done, 1), len(delays)) - 1]
    number = done + 1
    total = max(total, number)
    policy = f"the {endpoint.retry_policy} retry policy waits {human_duration(delay)} " \
             f"after attempt {done}"
    if delivery.next_attempt_at <= now:
        return NextAttempt("due", f"Attempt {number} of {total} is due and waiting for a "
                                  f"worker ({policy}).", delivery.next_attempt_at)
    return NextAttempt("scheduled", f"Attempt {number} of {total}: {policy}.",
                       delivery.next_attempt_at)


def explain(delivery, endpoint, now=None) -> NextAttempt:
    """The next attempt of `delivery` (its `endpoint` given) and the reason for its time.

    Final states have none; a live claim means an attempt is being sent now; a paused or
    disabled endpoint holds automatic attempts (never a "next attempt" in the past);
    otherwise the first attempt is queued or the retry policy's delay sets the time. A
    reason the receiver or a rate limit gives for waiting belongs here too.
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
    if user_asked:
        return NextAttempt("requested", "A retry was asked for: it is sent as soon as a "
                                        "worker takes it.", delivery.next_attempt_at)
    if delivery.status == "failed" and delivery.attempt_count and delivery.next_attempt_at:
        return _policy_reason(delivery, endpoint, now)
    return NextAttempt("queued", "Queued: the first attempt is sent as soon as a worker "
                                 "takes it.", delivery.next_attempt_at)
