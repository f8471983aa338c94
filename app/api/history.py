"""API: delivery history, one delivery, manual retry, replay, statistics and the CSV export."""
import json

from flask import request

from ..auth import current_org_id, manager_required, principal
from ..downloads import csv_download
from ..errors import ApiError
from ..services import audit, deliveries, endpoints, export, failures, history, next_attempt, stats
from . import bp
from .body import json_object
from .serializers import iso


def delivery_json(delivery):
    """The §9 Delivery object."""
    return {
        "id": delivery.id,
        "webhookId": delivery.endpoint_id,
        "eventId": delivery.event_id,
        "eventType": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempt_count,
        "nextAttemptAt": iso(delivery.next_attempt_at),
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error,
        "createdAt": iso(delivery.created_at),
        "deliveredAt": iso(delivery.delivered_at),
    }


def attempt_json(attempt):
    """One attempt of the detail call's attemptList."""
    error_class = failures.error_class(attempt.error, attempt.response_status)
    return {
        "number": attempt.number,
        "trigger": attempt.trigger,
        "startedAt": iso(attempt.started_at),
        "durationMs": attempt.duration_ms,
        "requestHeaders": attempt.request_headers or {},
        "requestBody": attempt.request_body,
        "responseStatus": attempt.response_status,
        "responseHeaders": attempt.response_headers or {},
        "responseBody": attempt.response_body,
        "error": attempt.error,
        "errorClass": error_class.name if error_class else None,
        "requestUrl": attempt.request_url,
        "remoteAddress": attempt.remote_address,
    }


def _limit(default=history.PAGE_SIZE, maximum=history.MAX_PAGE_SIZE):
    text = request.args.get("limit")
    if text is None or text == "":
        return default
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= maximum:
        raise ApiError(400, f"limit must be a whole number from 1 to {maximum}",
                       {"limit": f"must be 1 to {maximum}"})
    return limit


def _filters():
    filters, errors = history.read_filters(current_org_id(), request.args)
    if errors:
        raise ApiError(422, "Invalid filter: " + "; ".join(errors.values()), errors)
    return filters


def _live_endpoint(endpoint_id):
    endpoint = None
    if history.is_id(endpoint_id):
        endpoint = endpoints.get_endpoint(current_org_id(), endpoint_id)
    if endpoint is None:
        raise ApiError(404, "Webhook not found")
    return endpoint


@bp.get("/webhooks/<endpoint_id>/deliveries")
def endpoint_deliveries(endpoint_id):
    endpoint = _live_endpoint(endpoint_id)
    rows = history.recent_deliveries(current_org_id(), endpoint.id, _limit(maximum=50))
    return {"data": [delivery_json(row) for row in rows], "nextCursor": None}


@bp.get("/webhooks/<endpoint_id>/stats")
def endpoint_stats(endpoint_id):
    endpoint = _live_endpoint(endpoint_id)
    try:
        name = stats.parse_range(request.args.get("range"))
    except stats.RangeError as exc:
        raise ApiError(422, str(exc), {"range": str(exc)}) from None
    return stats.stats_with_range(endpoint, stats.window(name))


@bp.get("/webhook-deliveries")
def list_deliveries():
    filters, limit = _filters(), _limit()
    try:
        rows, next_cursor = history.history_page(
            current_org_id(), filters, request.args.get("cursor"), limit
        )
    except history.CursorError as exc:
        raise ApiError(400, "Invalid cursor: pass back a nextCursor value unchanged",
                       {"cursor": str(exc)}) from exc
    return {"data": [delivery_json(row) for row in rows], "nextCursor": next_cursor}


@bp.get("/webhook-deliveries/export.csv")
def export_deliveries():
    org_id, filters = current_org_id(), _filters()
    return csv_download(*export.begin(org_id, principal(), filters))


@bp.get("/webhook-deliveries/<delivery_id>")
def get_delivery(delivery_id):
    delivery = history.get_delivery(current_org_id(), delivery_id)
    if delivery is None:
        raise ApiError(404, "Delivery not found")
    body = delivery_json(delivery)
    body["payload"] = json.loads(delivery.payload)
    attempts = history.attempts_of(delivery)
    body["attemptList"] = [attempt_json(a) for a in attempts]
    upcoming = next_attempt.explain(delivery, delivery.endpoint,
                                    last_attempt=attempts[-1] if attempts else None)
    body["nextAttempt"] = {"kind": upcoming.kind, "at": iso(upcoming.at),
                           "reason": upcoming.reason}
    return body


@bp.post("/webhook-deliveries/<delivery_id>/retry")
@manager_required
def retry_delivery(delivery_id):
    org_id = current_org_id()
    delivery = history.get_delivery(org_id, delivery_id)
    if delivery is None:
        raise ApiError(404, "Delivery not found")
    try:
        deliveries.retry(org_id, principal(), delivery)
    except deliveries.RetryRefused as exc:
        raise ApiError(409, str(exc), code=exc.code) from exc
    return delivery_json(history.get_delivery(org_id, delivery.id)), 202


@bp.post("/webhooks/<endpoint_id>/replay")
@manager_required
def replay_endpoint(endpoint_id):
    endpoint = _live_endpoint(endpoint_id)
    try:
        since = history.replay_since(json_object().get("since"))
    except ValueError as exc:
        raise ApiError(422, str(exc), {"since": str(exc)}) from None
    count = deliveries.replay(current_org_id(), endpoint.id, since)
    audit.record(current_org_id(), principal(), "endpoint.replay", "endpoint", endpoint.id,
                 {"name": endpoint.name, "since": since.isoformat(), "count": count})
    return {"replayed": count}, 202
