"""API calls that start deliveries: the platform's events and test sends."""
from flask import jsonify, request

from ..auth import current_org_id, manager_required, principal
from ..errors import ApiError
from ..models import Endpoint
from ..services import deliveries, events, idempotency, limits
from ..services.stats import iso
from . import bp
from .body import json_object


@bp.post("/events")
def emit_event():
    body = json_object()
    try:
        ingested = events.receive(current_org_id(), body.get("eventType"), body.get("data"),
                                  idempotency_key=request.headers.get(idempotency.HEADER))
    except events.IdempotencyKeyReused as exc:
        raise ApiError(409, str(exc), {exc.field: str(exc)},
                       code="idempotency_key_reused") from exc
    except events.EventError as exc:
        raise ApiError(422, str(exc), {exc.field: str(exc)}) from exc
    response = jsonify({"eventId": ingested.event_id, "deliveries": ingested.delivery_count})
    if ingested.replayed:
        response.headers["Idempotent-Replayed"] = "true"
        return response, 200
    return response, 202


@bp.post("/webhooks/<endpoint_id>/test")
@manager_required
def test_webhook(endpoint_id):
    body = json_object()
    endpoint = Endpoint.get_in_org(current_org_id(), endpoint_id)
    if endpoint is None:
        raise ApiError(404, "No such webhook")
    try:
        limits.start_test_send(endpoint.id)
        sent = deliveries.test_webhook(
            current_org_id(), principal(), endpoint, body.get("eventType")
        )
    except limits.TestCooldown as exc:
        raise ApiError(429, str(exc), retry_after=exc.retry_after) from exc
    except deliveries.TestRefused as exc:
        raise ApiError(422, str(exc), {"eventType": str(exc)}) from exc
    delivery, attempt = sent.delivery, sent.attempt
    # 202 while a worker has not recorded the attempt: poll GET /webhook-deliveries/{id}.
    return jsonify(
        {
            "deliveryId": delivery.id,
            "eventId": delivery.event_id,
            "eventType": delivery.event_type,
            "status": delivery.status,
            "succeeded": bool(attempt and attempt.succeeded),
            "responseStatus": attempt.response_status if attempt else None,
            "durationMs": attempt.duration_ms if attempt else None,
            "responseBody": attempt.response_body if attempt else None,
            "error": attempt.error if attempt else delivery.last_error,
            "startedAt": iso(attempt.started_at) if attempt else None,
        }
    ), 200 if attempt else 202
