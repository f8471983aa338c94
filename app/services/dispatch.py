"""Sending due deliveries: take work fairly, claim it, send to several endpoints at once (each
endpoint's deliveries in order), record every outcome.

A delivery job runs one Dispatcher. It keeps up to WEBHOOK_SEND_CONCURRENCY sends in flight
on this process's send loop (services/transport.py), one per endpoint at a time (a receiver
gets its deliveries oldest first), and takes more due work whenever few claimed deliveries
are left, so a slow or hanging receiver holds one of those places and nothing else: the other
endpoints' sends go on around it. Outcomes are recorded in the job's own thread, in groups
(RECORD_GROUP, or RECORD_SECONDS after the first) to spare a commit per attempt; a failure
is recorded as soon as it comes back, before its endpoint sends again, so the policy rules
see every failure.

An endpoint whose last attempt timed out gets one delivery in flight at a time, across all
workers (a gate in Redis), and such endpoints together take at most half the places, so
dead receivers cannot take every one.

A job's time for taking ends after `seconds`; it then sends what it holds and returns. While
a send begun before then is still in flight, the job goes on taking the work of endpoints not
known to time out, so a dead receiver does not hold up everybody's new deliveries until its
deadline. A job given a waiter (jobs/enqueue.py) does not end when it finds nothing to do:
it waits for news of new deliveries, for up to the waiter's idle time.
"""
import logging
import math
import secrets
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, replace
from datetime import datetime

from flask import current_app
from redis.exceptions import RedisError

from ..extensions import db
from ..models import utcnow
from . import (
    after_commit,
    attempt_requests,
    delivery_state,
    due_work,
    events,
    outcomes,
    transport,
)
from .delivery_state import USER_TRIGGERS

log = logging.getLogger(__name__)

# Deliveries claimed and not yet sent by one process, at most; more are taken when fewer
# than REFILL_AT are left.
FILL = 200
REFILL_AT = 100
# Deliveries of one endpoint claimed at once, at most; an endpoint with LANE_FULL waiting in
# this process is not offered more.
LANE_MAX = 25
LANE_FULL = 10
# An endpoint's lane holds what its recent pace sends in this long (a claim's lease leaves
# room for a few seconds of waiting in a lane before the send's own deadline).
LANE_SECONDS = 3.0
PACES_KEPT = 10_000
RECORD_GROUP = 100
RECORD_SECONDS = 0.25
# While sends are in flight, due work is looked for at most this often, and never sooner
# after a look than LOOK_SPACING times what that look took. A look visits every endpoint
# with waiting deliveries, so with many of them (dead receivers' retries, paused endpoints'
# backlogs) each look is slow, and with a fixed interval slow looks would take a growing
# share of a busy worker's time and of PostgreSQL's (at 10,000 such endpoints, a third to
# two fifths of the worker's time). This way they take at most a fifth of it, however slow
# they become; one look slowed by a passing stall of the database delays the next by
# LONGEST_SPACING_SECONDS at most.
TAKE_INTERVAL_SECONDS = 0.05
LOOK_SPACING = 5
LONGEST_SPACING_SECONDS = 2.0
# A send starts only while its claim has this long left beyond the send's deadline.
START_MARGIN_SECONDS = 1.0
SLOW_GATE = "hookline:slow-endpoint:{}"
RATE = "hookline:rate:{}"
# Strict spacing (no bursts) of one endpoint's sends across every worker: the time before
# which the next send may not start is kept in Redis, read and moved on Redis's own clock.
_RATE_SCRIPT = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if next_at > now then return next_at - now end
redis.call('SET', KEYS[1], now + interval, 'PX', interval + 1000)
return 0
"""
# Endpoint id → recent seconds per send, kept by this process across jobs.
_PACE = {}
# Set when this process is asked to stop: jobs take nothing more and wait for nothing.
_STOPPING = threading.Event()
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


@dataclass
class Plan:
    """One claimed delivery, ready to send: its row, endpoint, attempt number and request."""

    delivery: object
    target: attempt_requests.Target
    number: int
    trigger: str
    request: attempt_requests.AttemptRequest
    token: str
    until: datetime

    def without_body(self):
        """This plan with nothing of its request kept (for an outcome that cannot be stored)."""
        return replace(self, request=attempt_requests.AttemptRequest())


class _SlowGates:
    """One delivery in flight at a time for endpoints whose last attempt timed out."""

    def __init__(self, seconds):
        self.milliseconds = int(seconds * 1000)
        self.held = {}

    def acquire(self, endpoint_id):
        if endpoint_id in self.held:
            return False
        token = secrets.token_hex(8)
        try:
            if not current_app.redis.set(
                SLOW_GATE.format(endpoint_id), token, nx=True, px=self.milliseconds
            ):
                return False
        except (RedisError, OSError):
            pass  # without Redis the gate is open: slower receivers cost more, nothing is lost
        self.held[endpoint_id] = token
        return True

    def release(self, endpoint_id):
        token = self.held.pop(endpoint_id, None)
        if token is None:
            return
        try:
            current_app.redis.eval(_RELEASE, 1, SLOW_GATE.format(endpoint_id), token)
        except (RedisError, OSError):
            pass


def _rate_wait(endpoint_id, per_second):
    """Seconds until this endpoint may be sent to under its rate limit (0: now, and the
    send is counted). Without Redis the limit is not enforced rather than stopping sends."""
    try:
        wait_ms = current_app.redis.eval(
            _RATE_SCRIPT, 1, RATE.format(endpoint_id), max(1, round(1000 / per_second))
        )
    except (RedisError, OSError):
        return 0.0
    return int(wait_ms) / 1000


def stop_taking():
    """This process is stopping: its delivery jobs send what they hold and return."""
    _STOPPING.set()


def stopping():
    """Whether stop_taking() was called in this process."""
    return _STOPPING.is_set()


class Dispatcher:
    """Takes, sends and records due deliveries for a while; see the module docstring."""

    def __init__(self):
        config = current_app.config
        self.timeout = config["WEBHOOK_TIMEOUT_SECONDS"]
        self.allow_private = config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]
        self.width = max(1, config["WEBHOOK_SEND_CONCURRENCY"])
        self.slow_width = max(1, self.width // 2)
        self.gates = _SlowGates(delivery_state.lease_seconds())
        self.lanes = {}  # endpoint id → deque of Plans not yet sent, oldest first
        self.queued = 0  # Plans in all lanes
        self.turns = deque()  # endpoints whose lane waits for a place to send, in turn
        self.sending = {}  # future → (plan, started at, started on the monotonic clock)
        self.finished = []  # (plan, started, outcome) not yet recorded
        self.finished_at = 0.0
        self.unused = []  # plans to hand back
        self.stopped = set()  # endpoints paused or disabled by outcomes recorded here
        self.offering = 1  # endpoints that offered work at the last take
        self.look_seconds = 0.0  # how long the last look for due work took
        self.pace = _PACE
        self.not_before = {}  # endpoint id → monotonic time its rate limit next allows a send
        self.sent = 0

    def run(self, delivery_ids=(), seconds=10.0, waiter=None):
        """Attempt these deliveries, then take due ones: once at least, then for `seconds`
        (with `seconds` None, none), waiting for more with `waiter` when nothing is due.
        Returns how many attempts were made; everything sent is recorded and every unused
        claim handed back before it returns."""
        stop_taking_at = time.monotonic() + (seconds or 0)
        looked = seconds is None
        last_take = float("-inf")
        idle_until = None
        last_look = False  # the waiter is done: one more look, then end
        try:
            if delivery_ids:
                self._take(delivery_state.claim(delivery_ids), list(delivery_ids))
            while True:
                # Sends start before more is taken: taking costs queries, and what is
                # queued already waits for none of them.
                self._start_sends()
                now = time.monotonic()
                taking = seconds is not None and (
                    not looked or (now < stop_taking_at and not _STOPPING.is_set())
                )
                extra = not taking and self._sending_since_before(stop_taking_at)
                idle = not self._queued() and not self.sending
                found = False
                if (taking or extra) and self._queued() < REFILL_AT and (
                    idle or now - last_take >= self._take_interval()
                ):
                    found, looked, last_take = self._take_due(healthy_only=extra), True, now
                    if found:
                        idle_until, last_look = None, False
                self._start_sends()
                if not self.sending:
                    self._record()
                    if self._queued():
                        # Everything left waits for a rate limit: sleep until the soonest.
                        time.sleep(min(RECORD_SECONDS, self._next_allowed() or 0))
                        continue
                    if found:
                        continue
                    if taking and waiter is not None and not last_look:
                        if idle_until is None:
                            idle_until = now + waiter.idle_seconds
                        db.session.commit()  # no transaction held open while waiting
                        if waiter.wait(min(idle_until, stop_taking_at) - now):
                            continue
                        # New deliveries are no longer announced to this job: one more
                        # look finds those announced while it waited.
                        waiter.done()
                        last_look = True
                        continue
                    if seconds is not None and not taking:
                        # Out of time, perhaps with more due: another job looks.
                        if waiter is not None:
                            waiter.done()
                        after_commit.add("drain", True)
                        db.session.commit()
                    break
                # While there is room for more, look for new due work once the take interval
                # is up even if no send ends: a hanging receiver must not keep new deliveries
                # waiting.
                limit = RECORD_SECONDS
                if (taking or extra) and self._queued() < REFILL_AT:
                    limit = max(0.0, last_take + self._take_interval() - time.monotonic())
                soonest = self._next_allowed()
                done, _ = wait(
                    self.sending, return_when=FIRST_COMPLETED,
                    timeout=limit if soonest is None else min(limit, soonest),
                )
                urgent = self._collect(done)
                if urgent or self._record_due():
                    self._record()
        finally:
            if waiter is not None:
                waiter.done()
            self._finish()
        return self.sent

    def _sending_since_before(self, since):
        """Whether a send begun before `since` (monotonic) is still in flight. Sends begun
        later do not count, so a job past its time for taking ends by the deadline of the last
        send it began in time, plus one send's at most."""
        if _STOPPING.is_set():
            return False
        return any(begun < since for _, _, begun in self.sending.values())

    def _take_interval(self):
        """Seconds from one look for due work to the next while sends are in flight."""
        spacing = min(LOOK_SPACING * self.look_seconds, LONGEST_SPACING_SECONDS)
        return max(TAKE_INTERVAL_SECONDS, spacing)

    # Taking work -----------------------------------------------------------------------

    def _queued(self):
        return self.queued

    def _take_due(self, healthy_only=False):
        """Claim the next due deliveries in fair order; True when any were taken. With
        `healthy_only`, none of endpoints whose last attempt timed out."""
        room = FILL - self._queued()
        skip = {key for key, lane in self.lanes.items() if len(lane) >= LANE_FULL}
        skip |= self.stopped
        per_endpoint = max(1, min(LANE_MAX, math.ceil(2 * FILL / self.offering)))
        started = time.monotonic()
        offered = due_work.candidates(per_endpoint, skip)
        self.look_seconds = time.monotonic() - started
        self.offering = len({due.endpoint_id for due in offered}) or 1
        chosen, gated, per_lane = [], [], {}
        for due in due_work.fair_order(offered):
            if len(chosen) >= room:
                # More is due than this process takes: another worker may join in.
                after_commit.add("drain", True)
                break
            lane = per_lane.get(due.endpoint_id, len(self.lanes.get(due.endpoint_id, ())))
            if lane >= self._lane_room(due.endpoint_id, due.rate_limit):
                continue
            if due.slow and healthy_only:
                continue
            per_lane[due.endpoint_id] = lane + 1
            if due.slow:
                if not self.gates.acquire(due.endpoint_id):
                    continue
                gated.append(due.endpoint_id)
            chosen.append(due.id)
        if not chosen:
            return False
        taken = self._take(delivery_state.claim(chosen), chosen)
        for endpoint_id in gated:
            if not self.lanes.get(endpoint_id):
                self.gates.release(endpoint_id)
        return taken > 0

    def _take(self, claim, order):
        """Build the plans of a claim and queue them in their endpoints' lanes."""
        rows = claim.rows
        if not rows:
            return 0
        endpoints = attempt_requests.endpoint_versions(
            {row.endpoint_id: row.endpoint_updated_at for row in rows.values()}
        )
        back, kept = [], 0
        for delivery_id in dict.fromkeys(order):
            row = rows.get(delivery_id)
            if row is None:
                continue
            endpoint = endpoints[row.endpoint_id]
            target = endpoint.target(slow=row.endpoint_timed_out_at is not None)
            waiting_here = len(self.lanes.get(endpoint.id, ()))
            if (target.slow and not self._may_send_slow(endpoint.id)) or (
                waiting_here >= self._lane_room(endpoint.id, target.rate_limit)
            ):
                back.append((row.id, claim.token))
                continue
            plan = Plan(
                row, target, row.attempt_count + 1, row.next_trigger,
                attempt_requests.build(row, endpoint), claim.token, claim.until,
            )
            lane = self.lanes.setdefault(endpoint.id, deque())
            if not lane and not self._is_sending(endpoint.id):
                self.turns.append(endpoint.id)
            lane.append(plan)
            self.queued += 1
            kept += 1
        db.session.commit()
        if back:
            delivery_state.hand_back(back)
        return kept

    def _lane_room(self, endpoint_id, rate_limit=None):
        """How many deliveries of an endpoint to hold at once: as many as its recent pace
        (and its rate limit) sends well within a claim's lease."""
        room = LANE_MAX
        pace = self.pace.get(endpoint_id)
        if pace:
            room = min(room, int(LANE_SECONDS / pace))
        if rate_limit:
            room = min(room, int(LANE_SECONDS * rate_limit))
        return max(1, room)

    def _may_send_slow(self, endpoint_id):
        """A slow endpoint's one delivery: only if none is queued or in flight here and the
        gate is ours (already, or now)."""
        if self.lanes.get(endpoint_id) or self._is_sending(endpoint_id):
            return False
        return endpoint_id in self.gates.held or self.gates.acquire(endpoint_id)

    def _is_sending(self, endpoint_id):
        return any(plan.target.id == endpoint_id for plan, _, _ in self.sending.values())

    # Sending -----------------------------------------------------------------------------

    def _start_sends(self):
        slow_sending = sum(1 for plan, _, _ in self.sending.values() if plan.target.slow)
        waiting_slow = []
        while len(self.sending) < self.width and self.turns:
            endpoint_id = self.turns.popleft()
            lane = self.lanes.get(endpoint_id)
            if not lane:
                continue
            plan = lane[0]
            if plan.target.slow and slow_sending >= self.slow_width:
                waiting_slow.append(endpoint_id)
                continue
            if not self._still_worth_sending(plan):
                lane.popleft()
                self.queued -= 1
                self.unused.append(plan)
                if lane:
                    self.turns.append(endpoint_id)
                continue
            if plan.target.rate_limit and not self._rate_allows(plan.target):
                waiting_slow.append(endpoint_id)
                continue
            lane.popleft()
            self.queued -= 1
            future = self._send(plan)
            self.sending[future] = (plan, utcnow(), time.monotonic())
            slow_sending += plan.target.slow
        self.turns.extend(waiting_slow)

    def _send(self, plan):
        """A Future of one POST's Outcome, or of the error that kept it from being made."""
        if plan.request.error:
            return transport.done(transport.Outcome(error=plan.request.error))
        return transport.submit(
            plan.target.url, plan.request.body, plan.request.headers,
            timeout=self.timeout, allow_private=self.allow_private,
        )

    def _rate_allows(self, target):
        now = time.monotonic()
        if self.not_before.get(target.id, 0) > now:
            return False
        wait = _rate_wait(target.id, target.rate_limit)
        if wait > 0:
            self.not_before[target.id] = now + wait
            return False
        return True

    def _next_allowed(self):
        """Seconds until the soonest rate-limited lane may send, or None."""
        waiting = [
            self.not_before[key] for key, lane in self.lanes.items()
            if lane and key in self.not_before
        ]
        return max(0.0, min(waiting) - time.monotonic()) if waiting else None

    def _still_worth_sending(self, plan):
        if plan.target.id in self.stopped and plan.trigger not in USER_TRIGGERS:
            return False
        left = (plan.until - utcnow()).total_seconds()
        return left >= self.timeout + START_MARGIN_SECONDS

    def _collect(self, done):
        failed = False
        for future in sorted(done, key=lambda f: self.sending[f][2]):
            plan, started, _ = self.sending.pop(future)
            outcome = future.result()
            self._pace(plan.target.id, outcome.duration_ms / 1000)
            if not self.finished:
                self.finished_at = time.monotonic()
            self.finished.append((plan, started, outcome))
            self.sent += 1
            # A failure is recorded before its endpoint sends again (policy rules), and an
            # ordered endpoint's delivery at once: the next one waits for it to be final.
            failed |= not outcome.ok or plan.target.ordered
            if self.lanes.get(plan.target.id):
                self.turns.append(plan.target.id)
        return failed

    def _pace(self, endpoint_id, seconds):
        if len(self.pace) > PACES_KEPT:
            self.pace.clear()
        known = self.pace.get(endpoint_id)
        self.pace[endpoint_id] = seconds if known is None else 0.7 * known + 0.3 * seconds

    # Recording ---------------------------------------------------------------------------

    def _record_due(self):
        return len(self.finished) >= RECORD_GROUP or (
            self.finished and time.monotonic() - self.finished_at >= RECORD_SECONDS
        )

    def _record(self):
        if self.finished:
            finished, self.finished = self.finished, []
            for stop in outcomes.record(finished):
                self.stopped.add(stop.endpoint_id)
                self._tell_organization(stop)
            for plan, _, _ in finished:
                if plan.target.slow:
                    self.gates.release(plan.target.id)
        if self.unused:
            unused, self.unused = self.unused, []
            delivery_state.hand_back([(plan.delivery.id, plan.token) for plan in unused])
            for plan in unused:
                if plan.target.slow:
                    self.gates.release(plan.target.id)

    def _tell_organization(self, stop):
        """webhook.disabled / webhook.paused to the organization's other endpoints."""
        try:
            events.emit_endpoint_stopped(
                stop.endpoint_id, stop.kind, stop.reason, stop.last_error, stop.at
            )
        except Exception:  # the endpoint is stopped either way; the event is a courtesy
            db.session.rollback()
            log.exception("Could not emit the %s event of endpoint %s", stop.kind,
                          stop.endpoint_id)

    def _finish(self):
        """Record what was sent and hand back what was not (also after an error)."""
        if self.sending:
            done, _ = wait(self.sending)
            self._collect(done)
        for lane in self.lanes.values():
            self.unused.extend(lane)
            lane.clear()
        self.queued = 0
        try:
            self._record()
        except Exception:
            db.session.rollback()
            log.exception("Outcomes left unrecorded; their leases will run out")
        for endpoint_id in list(self.gates.held):
            self.gates.release(endpoint_id)
