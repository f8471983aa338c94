"""Security headers on every response, HSTS only in production over HTTPS, and templates
that the Content-Security-Policy lets through (no inline script, style or handler)."""
import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PRODUCTION = {"HOOKLINE_ENV": "production", "SECRET_KEY": "s" * 32,
              "WEBHOOK_ENCRYPTION_KEY": "e" * 32}


def assert_secured(response):
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_api_static_and_errors_all_carry_the_headers(client, api, auth, admin):
    with client.get("/static/hookline.css") as static:
        assert_secured(static)
    for response in (client.get("/login"), client.get("/no-such-page"), client.get("/healthz"),
                     client.get("/api/sch/org/webhooks"), api.get("/webhooks"),
                     api.post("/events", data=b"{", headers={"Content-Type":
                                                             "application/json"})):
        assert_secured(response)
    auth.login(admin.email)
    assert_secured(client.get("/organization/webhooks"))


def test_hsts_only_in_production_over_https(make_app, client):
    production = make_app(**PRODUCTION).test_client()
    secure = production.get("/login", base_url="https://hooks.example.test")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in production.get("/login").headers
    development = client.get("/login", base_url="https://hooks.example.test")
    assert "Strict-Transport-Security" not in development.headers


def test_hsts_behind_a_proxy_believes_only_a_trusted_proxy(make_app):
    forwarded = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    trusting = make_app(**PRODUCTION, TRUSTED_PROXY_HOPS=1).test_client()
    assert "Strict-Transport-Security" in trusting.get("/login", environ_base=forwarded).headers
    untrusting = make_app(**PRODUCTION).test_client()
    assert "Strict-Transport-Security" not in untrusting.get(
        "/login", environ_base=forwarded).headers


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")),
                         ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_templates_have_no_inline_script_style_or_handler(template):
    text = template.read_text(encoding="utf-8")
    assert not re.search(r"\sstyle\s*=", text), "style attribute"
    assert "<style" not in text, "<style> block"
    assert not re.search(r"\son[a-z]+\s*=", text), "on…= handler"
    assert "javascript:" not in text
    for tag in re.findall(r"<script\b[^>]*>", text):
        assert "src=" in tag or 'type="application/json"' in tag, tag
