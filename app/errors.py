"""Error handlers: the JSON error object under /api/, friendly pages elsewhere."""
import math
import time

from flask import jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

API_PREFIX = "/api/"

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An API failure with its status, code, message, per-field messages and, for 429,
    the seconds to wait (Retry-After)."""

    def __init__(self, status, message, fields=None, code=None, retry_after=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.code = code or CODES.get(status, "error")
        self.retry_after = retry_after


def error_response(status, message, fields=None, code=None):
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return jsonify(body), status


def _wants_json():
    return request.path.startswith(API_PREFIX) or request.path == "/metrics"


def _limit_retry_after():
    """Seconds until the breached Flask-Limiter window lets a request through again."""
    from .extensions import limiter

    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def init_errors(app):
    @app.errorhandler(ApiError)
    def _api_error(exc):
        response, status = error_response(exc.status, exc.message, exc.fields, exc.code)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, status

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        if _wants_json():
            return error_response(400, exc.description)
        return render_template(
            "error.html", status=400, title="Form expired",
            message="The form was missing its security token or it expired. "
            "Go back, reload the page and try again.",
        ), 400

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc):
        response, status = _http_error(exc)
        response = app.make_response((response, status))
        response.headers["Retry-After"] = str(_limit_retry_after())
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        status = exc.code or 500
        description = exc.description
        if status == 429:
            # Flask-Limiter describes only the limit ("10 per 1 minute").
            description = (f"Too many requests (the limit is {description}): wait "
                           + ("the seconds Retry-After gives" if _wants_json() else "a little")
                           + ", then try again")
        if _wants_json():
            message = description if status != 404 else "Not found"
            response, status = error_response(status, message)
            valid_methods = getattr(exc, "valid_methods", None)
            if valid_methods:
                response.headers["Allow"] = ", ".join(valid_methods)
            return response, status
        return render_template(
            "error.html", status=status, title=exc.name, message=description
        ), status

    @app.errorhandler(Exception)
    def _unexpected(exc):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return error_response(500, "Internal error")
        return render_template(
            "error.html", status=500, title=InternalServerError.name,
            message="Something went wrong on our side. It has been logged.",
        ), 500
