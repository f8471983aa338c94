"""API routes: thin wrappers over the services."""
from flask import jsonify

from .. import catalog
from . import bp


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
                    "schema": event.schema,
                }
                for event in catalog.CATALOG
            ],
            "nextCursor": None,
        }
    )
