"""A walk over every route of the app: other tenants' ids, viewers, no login, no CSRF token.

The walk reads app.url_map, so a route added later is covered by the rules below; a route
that none of them describes fails the walk until it is given one.
"""
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, Delivery

from .. import factories
from ..reliability.figures import record

# Routes anyone may call: the login form, health, assets and the API description; in
# development (as the suite runs) also the demo receiver, which production never serves.
PUBLIC = {"admin.login", "ops.healthz", "ops.prometheus_metrics", "static", "bootstrap.static",
          "api.openapi_document", "demo_receiver.receive", "demo_receiver.about"}
PAGE_PREFIXES = ("/organization/", "/docs/")
PAGE_ROOT = {"/", "/logout", "/account", "/account/sign-out-everyone"}
# Page POSTs every signed-in user may make about their own session and account.
OWN_ACCOUNT = {"admin.logout", "admin.account"}
API_PREFIX = "/api/sch/org/"
# Page GETs that show a change form or a secret: managers only (admins only for tokens and
# audit). Viewers may read history, statistics and the CSV export.
MANAGER_PAGES = {"admin.webhook_new", "admin.webhook_edit", "admin.webhook_delete",
                 "admin.webhook_secret", "admin.webhook_rotate", "admin.retry_all",
                 "admin.api_tokens", "admin.audit_page"}
CHANGE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def kind_of(rule):
    """'public', 'page' or 'api' for a url_map rule; AssertionError for an unknown route."""
    if rule.endpoint in PUBLIC:
        return "public"
    if rule.rule.startswith(API_PREFIX):
        return "api"
    if rule.rule.startswith(PAGE_PREFIXES) or rule.rule in PAGE_ROOT:
        return "page"
    raise AssertionError(f"route {rule.rule} ({rule.endpoint}) has no rule in the access walk")


def calls(app, ids):
    """(kind, endpoint name, method, path) for every route and method, ids filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        kind = kind_of(rule)
        unknown = set(rule.arguments) - set(ids)
        assert not unknown, f"{rule.rule}: no test id for {unknown}"
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:[a-z]+:)?{name}>", str(ids[name]), path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((kind, rule.endpoint, method, path))
    return found


@pytest.fixture
def world(app):
    """Two organizations, each with an endpoint, a failed delivery, an audit entry, a token."""
    orgs = {}
    for label in ("mine", "other"):
        org = factories.make_org(f"Org {label}")
        endpoint = factories.make_endpoint(org)
        delivery = factories.make_delivery(endpoint, "failed")
        token, plain = factories.make_token(org)
        orgs[label] = {
            "org": org, "plain": plain,
            "ids": {"endpoint_id": endpoint.id, "delivery_id": delivery.id,
                    "token_id": token.id, "filename": "hookline.css", "name": "slack"},
            "admin": factories.make_user(org, "admin"),
            "viewer": factories.make_user(org, "viewer"),
        }
    db.session.commit()
    return orgs


def call(client, method, path, headers=None):
    data = {"since": "2020-01-01T00:00:00Z", "confirm": "y"} if method == "POST" else None
    if path.startswith(API_PREFIX):
        return client.open(path, method=method, headers=headers or {},
                           json={"since": "2020-01-01T00:00:00Z", "eventType": "scan.completed"}
                           if method in CHANGE_METHODS else None)
    return client.open(path, method=method, data=data, headers=headers or {})


def test_every_route_is_known_to_the_walk(app):
    kinds = {kind_of(rule) for rule in app.url_map.iter_rules()}
    assert kinds == {"public", "page", "api"}


def test_another_organizations_ids_are_404_everywhere(app, world, auth):
    """Signed in as an admin (and as a token) of one organization, with the other's ids."""
    client = app.test_client()
    client.post("/login", data={"email": world["mine"]["admin"].email,
                                "password": factories.PASSWORD})
    bearer = {"Authorization": f"Bearer {world['mine']['plain']}"}
    checked, wrong = 0, []
    for kind, _name, method, path in calls(app, world["other"]["ids"]):
        segments = set(path.split("/"))
        if kind == "public" or not segments & {str(v) for v in world["other"]["ids"].values()}:
            continue
        response = call(client, method, path, bearer if kind == "api" else None)
        checked += 1
        if response.status_code != 404:
            wrong.append((method, path, response.status_code))
        if kind == "api":
            assert response.is_json and response.get_json()["error"]["code"] == "not_found"
    record("Access walk: another organization's ids", inputs=checked, answered_404=checked -
           len(wrong), leaks=len(wrong), server_errors=0)
    assert checked >= 15
    assert wrong == []


def test_a_viewer_is_refused_every_change(app, world):
    client = app.test_client()
    client.post("/login", data={"email": world["mine"]["viewer"].email,
                                "password": factories.PASSWORD})
    checked, wrong = 0, []
    for kind, endpoint, method, path in calls(app, world["mine"]["ids"]):
        if kind != "page" or endpoint in OWN_ACCOUNT:
            continue
        if method in CHANGE_METHODS or endpoint in MANAGER_PAGES:
            response = call(client, method, path)
            checked += 1
            if response.status_code != 403:
                wrong.append((method, path, response.status_code))
    record("Access walk: viewer on every change", inputs=checked, refused_403=checked - len(wrong),
           allowed=len(wrong), server_errors=0)
    assert checked >= 10
    assert wrong == []
    assert_nothing_changed(world)


def assert_nothing_changed(world):
    db.session.expire_all()
    assert db.session.get(Delivery, world["mine"]["ids"]["delivery_id"]).status == "failed"
    assert db.session.execute(select(func.count(AuditEntry.id))).scalar_one() == 0


def test_without_a_session_or_token_nothing_is_served(app, world):
    client = app.test_client()
    checked, wrong = 0, []
    for kind, _name, method, path in calls(app, world["mine"]["ids"]):
        if kind == "public":
            continue
        response = call(client, method, path)
        checked += 1
        if kind == "api":
            ok = response.status_code == 401 and response.get_json()["error"]["code"] == \
                "unauthorized"
        else:
            ok = response.status_code == 302 and "/login" in response.headers["Location"]
        if not ok:
            wrong.append((method, path, response.status_code))
        bad_token = call(client, method, path, {"Authorization": "Bearer hk_not-a-token"})
        if kind == "api" and bad_token.status_code != 401:
            wrong.append((method, path, "bad token", bad_token.status_code))
    record("Access walk: no session or token", inputs=checked, refused=checked - len(wrong),
           served=len(wrong), server_errors=0)
    assert checked >= 30
    assert wrong == []


def _csrf_token(page):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_every_post_form_without_its_csrf_token_is_refused(make_app, world):
    guarded = make_app(WTF_CSRF_ENABLED=True)
    client = guarded.test_client()
    page = client.get("/login").get_data(as_text=True)
    # The login form itself is refused without its token...
    refused = client.post("/login", data={"email": world["mine"]["admin"].email,
                                          "password": factories.PASSWORD})
    assert refused.status_code == 400 and "security token" in refused.get_data(as_text=True)
    # ...and accepted with it.
    signed_in = client.post("/login", data={"email": world["mine"]["admin"].email,
                                            "password": factories.PASSWORD,
                                            "csrf_token": _csrf_token(page)})
    assert signed_in.status_code == 302
    checked, wrong = 0, []
    with guarded.app_context():
        for kind, _name, method, path in calls(guarded, world["mine"]["ids"]):
            if kind != "page" or method not in CHANGE_METHODS:
                continue
            response = client.open(path, method=method, data={"confirm": "y"})
            checked += 1
            if response.status_code != 400:
                wrong.append((method, path, response.status_code))
    record("Access walk: POST forms without CSRF token", inputs=checked + 1,
           refused_400=checked + 1 - len(wrong), accepted=len(wrong), server_errors=0)
    assert checked >= 8
    assert wrong == []
    assert_nothing_changed(world)
