"""Login, logout, rate limiting, CSRF and session cookie flags."""
import re

import pytest

from app.models import Event
from tests import factories


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Log in to Hookline" in response.data


def test_admin_logs_in_and_out(client, auth, admin):
    response = auth.login(admin.email)
    assert response.status_code == 302
    page = client.get("/organization/webhooks")
    assert page.status_code == 200
    assert admin.email.encode() in page.data
    auth.logout()
    assert client.get("/organization/webhooks").status_code == 302


def test_wrong_password_shows_error_and_emits_login_failed(client, auth, admin, app):
    response = auth.login(admin.email, "wrong-password")
    assert response.status_code == 401
    assert b"Email or password is incorrect." in response.data
    events = Event.query.filter_by(org_id=admin.org_id).all()
    assert [e.type for e in events] == ["user.login_failed"]
    assert events[0].data["username"] == admin.email.split("@")[0]
    assert "password" not in str(events[0].data)


def test_successful_login_emits_user_login(auth, admin):
    auth.login(admin.email)
    event = Event.query.filter_by(org_id=admin.org_id).one()
    assert event.type == "user.login"
    assert event.data["email"] == admin.email
    assert event.data["first_name"] == "Jane" and event.data["last_name"] == "Doe"
    assert event.data["company"] == admin.org_id


def test_unknown_email_emits_nothing(auth, app):
    assert auth.login("nobody@example.test", "whatever-pass").status_code == 401
    assert Event.query.count() == 0


@pytest.mark.parametrize(
    "target", ["//evil.example/", "/\\evil.example", "/\tevil", "https://evil.example/", "x"]
)
def test_open_redirect_refused(client, admin, target):
    response = client.post(
        "/login", query_string={"next": target},
        data={"email": admin.email, "password": factories.PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_next_path_of_this_site_is_followed(client, admin):
    response = client.post(
        "/login?next=/organization/webhooks/history?status=failed",
        data={"email": admin.email, "password": factories.PASSWORD},
    )
    assert response.headers["Location"] == "/organization/webhooks/history?status=failed"


@pytest.mark.parametrize("config_overrides", [{"LOGIN_RATE_LIMIT": "3 per minute"}])
def test_repeated_failures_are_rate_limited(auth, admin):
    statuses = [auth.login(admin.email, "wrong-password").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    # Even the right password is refused until the window passes.
    assert auth.login(admin.email).status_code == 429


@pytest.mark.parametrize("config_overrides", [{"LOGIN_RATE_LIMIT": "3 per minute"}])
def test_successful_logins_do_not_count_against_the_limit(client, auth, admin):
    for _ in range(5):
        assert auth.login(admin.email).status_code == 302
        auth.logout()


def test_csrf_token_required(make_app, admin):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    refused = client.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    assert refused.status_code == 400
    assert b"security token" in refused.data
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    accepted = client.post(
        "/login", data={"email": admin.email, "password": factories.PASSWORD, "csrf_token": csrf}
    )
    assert accepted.status_code == 302


def test_session_cookie_flags(client, admin):
    response = client.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_secure_in_production(make_app, admin):
    response = make_app(SESSION_COOKIE_SECURE=True).test_client().post(
        "/login", data={"email": admin.email, "password": factories.PASSWORD}
    )
    assert "Secure" in response.headers["Set-Cookie"]
