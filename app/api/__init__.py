"""JSON API under /api/sch/org: bearer-token auth, one organization per token, a rate
limit per token."""
from flask import Blueprint, current_app, g, request

from ..errors import ApiError
from ..extensions import limiter
from ..services import tokens

bp = Blueprint("api", __name__, url_prefix="/api/sch/org")
# Calls anyone may make: the API's own description.
PUBLIC_ENDPOINTS = {"api.openapi_document"}


def _presented_token():
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return presented.strip() if scheme.lower() == "bearer" else ""


def _rate_limit_key():
    """Each token its own API_RATE_LIMIT bucket (by its hash, as tokens are stored);
    calls without one share their client address's bucket."""
    presented = _presented_token()
    if presented:
        return "token:" + tokens.hash_token(presented)
    return "address:" + (request.remote_addr or "")


# Checked before authentication (Flask-Limiter runs first), so floods of calls with a bad
# token are counted too. If Redis is unreachable the calls still go through: the limit
# is then kept per web process, in memory (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED).
limiter.shared_limit(lambda: current_app.config["API_RATE_LIMIT"], scope="api",
                     key_func=_rate_limit_key)(bp)


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    presented = _presented_token()
    if not presented:
        raise ApiError(401, "Missing bearer token: send Authorization: Bearer <token>")
    token = tokens.verify_token(presented)
    if token is None:
        raise ApiError(401, "Invalid or revoked token")
    g.principal = token


from . import events, history, openapi, routes, webhooks  # noqa: E402,F401
