"""JSON shapes of the API (SPEC §9): camelCase keys, ISO-8601 UTC timestamps with Z."""
from ..services import endpoints as endpoint_service
from ..services import stats as stats_service
from ..services.stats import iso

__all__ = ["endpoint_json", "iso"]


def endpoint_json(endpoint, stats=None):
    """The SPEC §9 endpoint object; header values masked; never the secret."""
    if stats is None:
        stats = stats_service.endpoint_stats([endpoint])[endpoint.id]
    return {
        "id": endpoint.id,
        "name": endpoint.name,
        "description": endpoint.description or "",
        "url": endpoint.url,
        "type": endpoint.type,
        "events": list(endpoint.events or []),
        "projects": list(endpoint.projects or []),
        "statuses": list(endpoint.statuses or []),
        "headers": endpoint_service.masked_headers(endpoint),
        "bodyTemplate": endpoint.body_template,
        "retryPolicy": endpoint.retry_policy,
        "payloadFilter": list(endpoint.payload_filter or []),
        "rateLimit": endpoint.rate_limit,
        "ordered": bool(endpoint.ordered),
        "isActive": bool(endpoint.is_active),
        "status": endpoint_service.health_status(endpoint),
        "disabledAt": iso(endpoint.disabled_at),
        "disabledReason": endpoint.disabled_reason,
        "rotationInProgress": endpoint_service.rotation_in_progress(endpoint),
        "createdBy": endpoint.created_by_name or None,
        "createdAt": iso(endpoint.created_at),
        "updatedAt": iso(endpoint.updated_at),
        "lastDeliveryAt": iso(endpoint.last_delivery_at),
        "stats": stats,
    }
