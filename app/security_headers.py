"""Security headers on every response: a strict Content-Security-Policy (no inline script
or style, no framing), nosniff, a same-origin referrer, and HSTS in production on HTTPS."""
from flask import request

# Bootstrap's stylesheet draws checkboxes and select arrows with data: SVG images.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"


def init_security_headers(app):
    """Add the headers to every response of the app (pages, API, static files, errors)."""

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        # request.is_secure reflects X-Forwarded-Proto only from trusted proxies (ProxyFix).
        if app.config["HOOKLINE_ENV"] == "production" and request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
