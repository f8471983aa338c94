"""API routes: thin wrappers over the services."""
from flask import jsonify

from .. import catalog
from ..auth import current_org_id
from ..errors import ApiError
from ..services import events
from . import bp
from .body import json_object


@bp.get("/webhook-events")
def list_event_types():
    return jsonify(
        {
            "data": [
                {
                    "type": event.type,
                    "area": event.area,
                    "description": event.description,
                    "sample": catalog.sample_data(event.type),
                }
                for event in catalog.CATALOG
            ],
            "nextCursor": None,
        }
    )


@bp.post("/events")
def emit_event():
    body = json_object()
    try:
        event = events.emit(current_org_id(), body.get("eventType"), body.get("data"))
    except events.EventError as exc:
        raise ApiError(422, str(exc), {exc.field: str(exc)}) from exc
    return jsonify({"eventId": event.id, "deliveries": 0}), 202
