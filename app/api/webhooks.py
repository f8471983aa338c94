"""API calls for endpoints: list, create, read, partial update, delete, rotate the secret."""
from flask import jsonify, request

from ..auth import current_org_id, manager_required, principal
from ..errors import ApiError
from ..services import endpoints
from ..services.stats import endpoint_stats
from . import bp
from .body import json_object
from .serializers import endpoint_json

MAX_LIST = 100


def _invalid(exc):
    return ApiError(422, "Validation failed: " + str(exc), exc.fields)


def _endpoint_or_404(endpoint_id):
    endpoint = endpoints.get_endpoint(current_org_id(), endpoint_id)
    if endpoint is None:
        raise ApiError(404, "No such webhook")
    return endpoint


def _with_secret(endpoint, secret):
    """The endpoint plus its secret, the one time it is returned; never cached."""
    response = jsonify({**endpoint_json(endpoint), "secret": secret})
    response.headers["Cache-Control"] = "no-store"
    return response


def _limit():
    raw = request.args.get("limit", str(MAX_LIST))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIST:
        raise ApiError(422, f"limit must be a whole number from 1 to {MAX_LIST}",
                       {"limit": f"Must be a whole number from 1 to {MAX_LIST}"})
    return int(raw)


@bp.get("/webhooks")
def list_webhooks():
    limit = _limit()
    cursor = request.args.get("cursor") or None
    found = endpoints.list_endpoints(current_org_id())
    if cursor is not None:
        ids = [endpoint.id for endpoint in found]
        if cursor not in ids:
            raise ApiError(422, "cursor is not valid", {"cursor": "Unknown cursor"})
        found = found[ids.index(cursor) + 1:]
    page = found[:limit]
    stats = endpoint_stats(page)
    return jsonify({
        "data": [endpoint_json(endpoint, stats[endpoint.id]) for endpoint in page],
        "nextCursor": page[-1].id if len(found) > limit else None,
    })


@bp.post("/webhooks")
@manager_required
def create_webhook():
    body = json_object()
    try:
        endpoint, secret = endpoints.create_endpoint(current_org_id(), principal(), body)
    except endpoints.EndpointInvalid as exc:
        raise _invalid(exc) from None
    except endpoints.EndpointLimitReached as exc:
        raise ApiError(422, str(exc), code="limit_reached") from None
    response = _with_secret(endpoint, secret)
    response.headers["Location"] = f"{bp.url_prefix}/webhooks/{endpoint.id}"
    return response, 201


@bp.get("/webhooks/<endpoint_id>")
def get_webhook(endpoint_id):
    return jsonify(endpoint_json(_endpoint_or_404(endpoint_id)))


@bp.patch("/webhooks/<endpoint_id>")
@manager_required
def update_webhook(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    body = json_object()
    discard = body.pop("discardHeld", False)
    if not isinstance(discard, bool):
        raise ApiError(422, "Validation failed: discardHeld must be true or false",
                       {"discardHeld": "discardHeld must be true or false"})
    try:
        endpoints.update_endpoint(current_org_id(), principal(), endpoint, body,
                                  discard_held=discard)
    except endpoints.EndpointInvalid as exc:
        raise _invalid(exc) from None
    return jsonify(endpoint_json(endpoint))


@bp.delete("/webhooks/<endpoint_id>")
@manager_required
def delete_webhook(endpoint_id):
    endpoints.delete_endpoint(current_org_id(), principal(), _endpoint_or_404(endpoint_id))
    return "", 204


@bp.post("/webhooks/<endpoint_id>/rotate-secret")
@manager_required
def rotate_webhook_secret(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    secret = endpoints.rotate_secret(current_org_id(), principal(), endpoint)
    return _with_secret(endpoint, secret)
