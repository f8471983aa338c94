"""Sessions end: logout, a password change and "sign out everyone" end them on every
device, and a session is refused from another client, whatever X-Forwarded-For says.

The browsers here talk to `server`, an app of its own: each request then runs in a fresh
app context, as in production, instead of the test's long-lived one."""
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, AuditEntry
from tests import factories

PAGE = "/organization/webhooks"
VICTIM = {"REMOTE_ADDR": "198.51.100.7"}
ATTACKER = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def server(make_app, config_overrides):
    return make_app(**config_overrides)


def signed_in(server, user, environ=None, password=factories.PASSWORD):
    """A new browser (test client) signed in as the user; returns it."""
    browser = server.test_client()
    response = browser.post("/login", data={"email": user.email, "password": password},
                            environ_base=environ or {})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def copy_of(server, browser):
    """Another browser holding a copy of this one's session cookie (a stolen cookie)."""
    thief = server.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    return thief


def is_signed_in(browser, environ=None):
    return browser.get(PAGE, environ_base=environ or {}).status_code == 200


def token_count():
    db.session.expire_all()
    return db.session.execute(select(func.count(ApiToken.id))).scalar()


def test_a_cookie_captured_before_logout_is_dead_after_it(server, admin):
    browser = signed_in(server, admin)
    stolen = copy_of(server, browser)
    assert is_signed_in(stolen)

    assert browser.post("/logout").status_code == 302

    assert not is_signed_in(stolen)
    created = stolen.post("/organization/tokens", data={"name": "backdoor"})
    assert created.status_code == 302 and created.headers["Location"].startswith("/login")
    assert token_count() == 0


def test_logout_ends_the_sessions_on_every_device(server, admin):
    laptop, phone = signed_in(server, admin), signed_in(server, admin)
    laptop.post("/logout")
    assert not is_signed_in(laptop) and not is_signed_in(phone)
    assert is_signed_in(signed_in(server, admin))


def test_a_session_replayed_from_another_address_is_refused(server, admin):
    browser = signed_in(server, admin, VICTIM)
    assert is_signed_in(browser, VICTIM)
    stolen = copy_of(server, browser)
    spoofed = {**ATTACKER, "HTTP_X_FORWARDED_FOR": VICTIM["REMOTE_ADDR"]}
    assert not is_signed_in(stolen, spoofed)
    assert stolen.post("/organization/tokens", data={"name": "backdoor"},
                       environ_base=spoofed).status_code == 302
    assert token_count() == 0


def test_a_session_replayed_from_another_browser_is_refused(server, admin):
    browser = signed_in(server, admin, {**VICTIM, "HTTP_USER_AGENT": "Firefox"})
    stolen = copy_of(server, browser)
    assert is_signed_in(stolen, {**VICTIM, "HTTP_USER_AGENT": "Firefox"})
    assert not is_signed_in(stolen, {**VICTIM, "HTTP_USER_AGENT": "curl"})


@pytest.mark.parametrize("config_overrides", [{"TRUSTED_PROXY_HOPS": 1}])
def test_behind_a_trusted_proxy_the_forwarded_address_binds_the_session(server, admin):
    proxy = "127.0.0.1"
    victim = {"REMOTE_ADDR": proxy, "HTTP_X_FORWARDED_FOR": VICTIM["REMOTE_ADDR"]}
    attacker = {"REMOTE_ADDR": proxy,
                "HTTP_X_FORWARDED_FOR": f"{VICTIM['REMOTE_ADDR']}, {ATTACKER['REMOTE_ADDR']}"}
    browser = signed_in(server, admin, victim)
    assert is_signed_in(browser, victim)
    # The proxy appends the real client to what the client sent: only that counts.
    assert not is_signed_in(copy_of(server, browser), attacker)


def test_changing_the_password_ends_every_other_session(server, admin):
    browser, other = signed_in(server, admin), signed_in(server, admin)
    response = browser.post("/account", data={
        "current_password": factories.PASSWORD, "new_password": "a-new-long-password",
        "confirm_password": "a-new-long-password"})
    assert response.status_code == 302
    page = browser.get("/account").get_data(as_text=True)
    assert "Password changed. Every other session of your account has ended." in page
    assert not is_signed_in(other)
    assert is_signed_in(browser)
    assert server.test_client().post("/login", data={
        "email": admin.email, "password": factories.PASSWORD}).status_code == 401
    assert is_signed_in(signed_in(server, admin, password="a-new-long-password"))
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "account.password_change")).scalar_one()
    assert entry.actor_name == admin.email and "password" not in str(entry.details)


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"current_password": "wrong-password"}, "current_password",
     "The current password is incorrect"),
    ({"new_password": "short", "confirm_password": "short"}, "new_password",
     "Password must be at least 8 characters"),
    ({"new_password": factories.PASSWORD, "confirm_password": factories.PASSWORD},
     "new_password", "Choose a password different from the current one"),
    ({"confirm_password": "something-else"}, "confirm_password",
     "The two new passwords differ"),
])
def test_a_refused_password_change_says_why_next_to_the_field(server, admin, data, field, message):
    browser, other = signed_in(server, admin), signed_in(server, admin)
    form = {"current_password": factories.PASSWORD, "new_password": "a-new-long-password",
            "confirm_password": "a-new-long-password", **data}
    response = browser.post("/account", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # The message is in the field's own block, right after its input (and help text).
    assert re.search(rf'<input[^>]* id="{field}"[^>]*>\s*'
                     rf'(<div class="form-text"[^>]*>[^<]*</div>\s*)?'
                     rf'<div class="invalid-feedback d-block"[^>]*>{message}</div>', page)
    assert is_signed_in(other)


def test_an_admin_signs_out_everyone_and_stays_signed_in(server, org, admin):
    viewer = factories.make_user(org, "viewer")
    outsider = factories.make_user(factories.make_org("Other"), "admin")
    admin_browser, admin_phone = signed_in(server, admin), signed_in(server, admin)
    viewer_browser, outsider_browser = signed_in(server, viewer), signed_in(server, outsider)

    response = admin_browser.post("/account/sign-out-everyone")

    assert response.status_code == 302
    assert "Signed out every session of the organization" in (
        admin_browser.get("/account").get_data(as_text=True))
    assert is_signed_in(admin_browser)
    assert not is_signed_in(admin_phone) and not is_signed_in(viewer_browser)
    assert is_signed_in(outsider_browser)
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "organization.sign_out_everyone")).scalar_one()
    assert entry.details == {"users": 2}


def test_only_admins_sign_out_everyone(server, org, admin):
    viewer_browser = signed_in(server, factories.make_user(org, "viewer"))
    admin_browser = signed_in(server, admin)
    assert viewer_browser.post("/account/sign-out-everyone").status_code == 403
    assert "Sign out everyone" not in viewer_browser.get("/account").get_data(as_text=True)
    assert is_signed_in(admin_browser)
