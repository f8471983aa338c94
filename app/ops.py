"""Operational routes outside the admin and API: health check and Prometheus metrics."""
import hmac

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .errors import ApiError
from .extensions import db
from .services import metrics

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        db.session.rollback()
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        current_app.redis.ping()
        checks["redis"] = "ok"
    except RedisError as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return jsonify({"status": "ok" if healthy else "unavailable", "checks": checks}), (
        200 if healthy else 503
    )


LOCAL_ADDRESSES = ("127.0.0.1", "::1")


def _check_metrics_access():
    """METRICS_TOKEN as a bearer token; without one, localhost only, and never in production.

    The address is the client's as the trusted proxies report it (TRUSTED_PROXY_HOPS): a
    proxy on the same host does not make every client local.
    """
    token = current_app.config["METRICS_TOKEN"]
    if token:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), token.encode()
        ):
            raise ApiError(401, "Send Authorization: Bearer <METRICS_TOKEN>")
    elif current_app.config["HOOKLINE_ENV"] == "production":
        raise ApiError(403, "Metrics need METRICS_TOKEN in production: set it and send "
                            "Authorization: Bearer <METRICS_TOKEN>")
    elif request.remote_addr not in LOCAL_ADDRESSES:
        raise ApiError(403, "Metrics are served to localhost only unless METRICS_TOKEN is set")


@bp.get("/metrics")
def prometheus_metrics():
    _check_metrics_access()
    grace = 2 * current_app.config["WEBHOOK_SWEEP_SECONDS"]
    body = metrics.render(current_app.task_queue, grace)
    return Response(body, content_type=CONTENT_TYPE_LATEST)
