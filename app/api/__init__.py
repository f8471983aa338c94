"""JSON API under /api/sch/org: bearer-token auth, one organization per token."""
from flask import Blueprint, g, request

from ..errors import ApiError
from ..services import tokens

bp = Blueprint("api", __name__, url_prefix="/api/sch/org")
# Calls anyone may make: the API's own description.
PUBLIC_ENDPOINTS = {"api.openapi_document"}


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(401, "Missing bearer token: send Authorization: Bearer <token>")
    token = tokens.verify_token(presented.strip())
    if token is None:
        raise ApiError(401, "Invalid or revoked token")
    g.principal = token


from . import events, history, openapi, routes, webhooks  # noqa: E402,F401
