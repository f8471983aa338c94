"""A week of generated delivery history for the demo: events, deliveries, attempts, counters
and the daily series, as the engine would have written them, so the pages are not empty."""
import json
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import insert

from . import catalog
from .extensions import db
from .models import Attempt, Delivery, EndpointDailyStat, Event
from .services import endpoints as endpoint_rules
from .services import events, payloads, signing
from .services.outcomes import max_attempts, retry_delays

DAYS = 7
EVENTS_PER_DAY = 70
# Deliveries end at least this long ago, so every generated one has reached a final state
# and the engine has nothing left to do with them.
SETTLED = timedelta(hours=3)
EVENT_WEIGHTS = {
    "scan.completed": 26, "issue.status_changed": 24, "issue.assigned": 10, "scan.started": 10,
    "scan.failed": 6, "user.login": 9, "user.login_failed": 2, "assignment.created": 5,
    "assignment.completed": 3, "sarif.ingested": 4, "certificate.issued": 1,
}
FAILURES = {
    "http500": (500, None, '{"error": "internal error"}'),
    "http503": (503, None, "Service Unavailable"),
    "http401": (401, None, '{"message": "invalid token"}'),
    "timeout": (None, "Timed out after 10 s", None),
    "refused": (None, "Connection refused", None),
}


@dataclass
class Behaviour:
    """How a demo receiver behaved over the week."""

    fail_rate: float
    failures: tuple
    latency_ms: int
    paused_for: timedelta | None = None


def _attempt_outcome(rng, behaviour):
    """(ok, status, error, response body, duration ms) of one generated attempt."""
    if rng.random() >= behaviour.fail_rate:
        duration = int(behaviour.latency_ms * rng.lognormvariate(0, 0.45))
        return True, 200, None, '{"ok": true}', max(duration, 3)
    status, error, body = FAILURES[rng.choice(behaviour.failures)]
    if error and error.startswith("Timed out"):
        return False, None, error, None, 10_000 + rng.randint(0, 40)
    if error:
        return False, None, error, None, rng.randint(1, 4)
    return False, status, None, body, int(behaviour.latency_ms * rng.lognormvariate(0, 0.3))


def _event_data(rng, event_type, org_id, projects):
    data = catalog.sample_data(event_type, org_id)
    if "project" in data:
        external_id, name = rng.choice(projects)
        data["project"] = {"id": external_id, "name": name}
    if event_type == "issue.status_changed":
        data["status"] = rng.choice(catalog.ISSUE_STATUSES)
    return data


def _headers(endpoint, secrets, delivery_id, event_id, event_type, body, moment):
    prefix = current_app.config["WEBHOOK_HEADER_PREFIX"]
    stamp = int(moment.timestamp())
    shown = {
        "Content-Type": "application/json",
        "User-Agent": current_app.config["WEBHOOK_USER_AGENT"],
        f"{prefix}-Event": event_type,
        f"{prefix}-Delivery": delivery_id,
        f"{prefix}-Timestamp": str(stamp),
        **signing.signature_headers(body, secrets, message_id=event_id, timestamp=stamp,
                                    prefix=prefix),
    }
    for name, value in endpoint_rules.custom_headers(endpoint):
        shown[name] = endpoint_rules.mask(value)
    return shown


class _Writer:
    """Collects generated rows and the counters they add up to; writes them in bulk."""

    def __init__(self):
        self.events, self.deliveries, self.attempts = [], [], []
        self.daily = {}
        self.last = {}

    def count(self, endpoint, moment, ok, timed_out):
        day = self.daily.setdefault((endpoint.id, moment.date()), [0, 0])
        day[0 if ok else 1] += 1
        tally = self.last.setdefault(endpoint.id, {"total": 0, "ok": 0, "streak": 0,
                                                   "at": None, "last_ok": None,
                                                   "timed_out": False})
        tally["total"] += 1
        tally["ok"] += ok
        tally["streak"] = 0 if ok else tally["streak"] + 1
        if tally["at"] is None or moment >= tally["at"]:
            tally["at"], tally["last_ok"], tally["timed_out"] = moment, ok, timed_out

    def write(self, org_id, endpoints):
        for rows, table in ((self.events, Event.__table__), (self.deliveries, Delivery.__table__),
                            (self.attempts, Attempt.__table__)):
            for start in range(0, len(rows), 1000):
                db.session.execute(insert(table), rows[start:start + 1000])
        db.session.execute(insert(EndpointDailyStat.__table__), [
            {"endpoint_id": endpoint_id, "day": day, "org_id": org_id,
             "successful": ok, "failed": failed}
            for (endpoint_id, day), (ok, failed) in self.daily.items()
        ])
        finals = {}
        for row in self.deliveries:
            key = (row["endpoint_id"], row["status"])
            finals[key] = finals.get(key, 0) + 1
        for endpoint in endpoints:
            endpoint.delivered_count = finals.get((endpoint.id, "delivered"), 0)
            endpoint.exhausted_count = finals.get((endpoint.id, "exhausted"), 0)
            tally = self.last.get(endpoint.id)
            if tally is None:
                continue
            endpoint.total_attempts = tally["total"]
            endpoint.successful_attempts = tally["ok"]
            endpoint.failed_attempts = tally["total"] - tally["ok"]
            endpoint.consecutive_failures = tally["streak"]
            endpoint.last_attempt_at = endpoint.last_delivery_at = tally["at"]
            endpoint.last_attempt_ok = tally["last_ok"]
            endpoint.timed_out_at = tally["at"] if tally["timed_out"] else None
        db.session.commit()


def _deliver(rng, writer, endpoint, behaviour, secrets, event, now):
    """One delivery of an event to an endpoint with its attempts, or held when paused."""
    delivery_id = str(uuid.uuid4())
    created = event["created_at"]
    row = {
        "id": delivery_id, "org_id": endpoint.org_id, "endpoint_id": endpoint.id,
        "event_id": event["id"], "event_type": event["type"], "payload": event["payload"],
        "status": "pending", "attempt_count": 0, "next_attempt_at": created,
        "next_trigger": "auto", "created_at": created, "updated_at": created,
        "delivered_at": None, "last_status_code": None, "last_error": None,
    }
    writer.deliveries.append(row)
    if behaviour.paused_for is not None and created >= now - behaviour.paused_for:
        return  # held: the endpoint was paused before this event
    body = payloads.request_body(event["payload"], endpoint.body_template)
    delays = retry_delays(endpoint.retry_policy)
    moment = created + timedelta(milliseconds=rng.randint(20, 900))
    for number in range(1, max_attempts(endpoint.retry_policy) + 1):
        if moment > now:
            # Longer retry delays than the defaults: this retry is still to come.
            row.update(status="failed", next_attempt_at=moment, next_trigger="retry")
            return
        ok, status, error, response, duration = _attempt_outcome(rng, behaviour)
        writer.attempts.append({
            "org_id": endpoint.org_id, "delivery_id": delivery_id, "endpoint_id": endpoint.id,
            "number": number, "trigger": "auto" if number == 1 else "retry",
            "started_at": moment, "duration_ms": duration, "request_url": endpoint.url,
            "remote_address": "127.0.0.1" if error != "Connection refused" else None,
            "request_headers": _headers(endpoint, secrets, delivery_id, event["id"],
                                        event["type"], body, moment),
            "request_body": body.decode("utf-8"), "response_status": status,
            "response_headers": {"Content-Type": "application/json",
                                 "Server": "Hookline demo receiver"} if status else None,
            "response_body": response, "error": error, "succeeded": ok,
        })
        writer.count(endpoint, moment, ok, bool(error and error.startswith("Timed out")))
        row.update(attempt_count=number, last_status_code=status,
                   last_error=error or (None if ok else f"HTTP {status}"),
                   updated_at=moment, next_attempt_at=None)
        if ok:
            row.update(status="delivered", delivered_at=moment)
            return
        if number == max_attempts(endpoint.retry_policy):
            row.update(status="exhausted")
            return
        moment += timedelta(seconds=delays[min(number, len(delays)) - 1],
                            milliseconds=rng.randint(5, 900))


def generate(org_id, demo_endpoints, projects, now, seed=20250115):
    """Write a week of history for (endpoint, Behaviour) pairs; returns how many deliveries.

    Events are spread over the last DAYS days; each goes to every endpoint whose events and
    filters match, as ingest would send it. Deliveries made while an endpoint was paused are
    held (pending, never attempted); the others reached delivered or exhausted."""
    rng = random.Random(seed)
    writer = _Writer()
    types, weights = zip(*EVENT_WEIGHTS.items(), strict=True)
    start = now - timedelta(days=DAYS)
    span = (now - SETTLED - start).total_seconds()
    moments = sorted(start + timedelta(seconds=rng.uniform(0, span))
                     for _ in range(DAYS * EVENTS_PER_DAY))
    secrets = {endpoint.id: endpoint_rules.signing_secrets(endpoint)
               for endpoint, _ in demo_endpoints}
    for created in moments:
        event_type = rng.choices(types, weights)[0]
        data = _event_data(rng, event_type, org_id, projects)
        event = {"id": str(uuid.uuid4()), "type": event_type, "created_at": created}
        event["payload"] = payloads.default_payload(event["id"], event_type, created, data)
        writer.events.append({"id": event["id"], "org_id": org_id, "type": event_type,
                              "data": data, "created_at": created})
        payload = json.loads(event["payload"])
        for endpoint, behaviour in demo_endpoints:
            if events.matches(endpoint, payload):
                _deliver(rng, writer, endpoint, behaviour, secrets[endpoint.id], event, now)
    writer.write(org_id, [endpoint for endpoint, _ in demo_endpoints])
    return len(writer.deliveries)
