"""The API tokens page: admins create (shown once), list and revoke; others are refused."""
from app.models import ApiToken, AuditEntry
from tests import factories


def test_admin_creates_token_shown_once(client, auth, admin, api):
    auth.login(admin.email)
    created = client.post("/organization/tokens", data={"name": "CI pipeline"})
    # Post/redirect/get: reloading the page that shows the token re-creates nothing.
    assert created.status_code == 302 and created.headers["Location"] == "/organization/tokens"
    page = client.get("/organization/tokens")
    text = page.get_data(as_text=True)
    assert "It will not be shown again" in text and page.headers["Cache-Control"] == "no-store"
    token = ApiToken.query.filter_by(name="CI pipeline").one()
    plaintext = text.split('id="new-token"')[1].split(">")[1].split("<")[0]
    assert plaintext.startswith("hkl_") and token.token_hash != plaintext
    assert plaintext not in str(client.get_cookie("session").value)
    assert plaintext not in client.get("/organization/tokens").get_data(as_text=True)
    assert ApiToken.query.filter_by(name="CI pipeline").count() == 1
    assert AuditEntry.query.filter_by(action="token.create").count() == 1


def test_tokens_page_shows_the_organization_id_for_the_command_line(client, auth, admin, org):
    auth.login(admin.email)
    text = client.get("/organization/tokens").get_data(as_text=True)
    assert f"flask --app wsgi emit --org {org.id} scan.completed" in text
    assert 'data-copy="#org-id"' in text


def test_admin_revokes_token_and_it_stops_working(client, auth, admin, org):
    token, plaintext = factories.make_token(org, "old")
    auth.login(admin.email)
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/sch/org/webhook-events", headers=headers).status_code == 200
    response = client.post(f"/organization/tokens/{token.id}/revoke", follow_redirects=True)
    assert "revoked" in response.get_data(as_text=True)
    assert client.get("/api/sch/org/webhook-events", headers=headers).status_code == 401


def test_empty_name_is_refused_next_to_field(client, auth, admin):
    auth.login(admin.email)
    page = client.post("/organization/tokens", data={"name": ""})
    assert "This field is required." in page.get_data(as_text=True)
    assert ApiToken.query.count() == 0


def test_other_roles_get_403(client, auth, org):
    for role in ("integrations", "viewer"):
        user = factories.make_user(org, role)
        auth.login(user.email)
        assert client.get("/organization/tokens").status_code == 403
        assert client.post("/organization/tokens", data={"name": "x"}).status_code == 403
        auth.logout()
    assert ApiToken.query.count() == 0


def test_cannot_revoke_another_orgs_token(client, auth, admin):
    other = factories.make_org("Other")
    token, plaintext = factories.make_token(other)
    auth.login(admin.email)
    assert client.post(f"/organization/tokens/{token.id}/revoke").status_code == 404
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/sch/org/webhook-events", headers=headers).status_code == 200
