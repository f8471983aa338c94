"""Audit log page: one row per action, filters, admins only, never a secret in it."""
import json
from datetime import timedelta

from app.models import AuditEntry, utcnow
from app.services import audit
from tests import factories


def test_every_action_of_an_endpoints_life_is_logged_without_secrets(client, auth, admin,
                                                                     api, org, receiver):
    created = api.post("/webhooks", json={
        "name": "Receiver", "url": receiver.url, "events": ["scan.completed"],
        "headers": [{"name": "X-Api-Key", "value": "top-secret-header-value"}],
    }).get_json()
    endpoint_id, secret = created["id"], created["secret"]
    api.patch(f"/webhooks/{endpoint_id}", json={"name": "Receiver 2"})
    api.patch(f"/webhooks/{endpoint_id}", json={"isActive": False})
    api.patch(f"/webhooks/{endpoint_id}", json={"isActive": True})
    rotated = api.post(f"/webhooks/{endpoint_id}/rotate-secret").get_json()["secret"]
    api.post(f"/webhooks/{endpoint_id}/test", json={"eventType": "scan.completed"})
    api.post(f"/webhooks/{endpoint_id}/replay", json={"since": "2025-01-01T00:00:00Z"})
    api.get("/webhook-deliveries/export.csv").get_data()
    api.delete(f"/webhooks/{endpoint_id}")

    actions = [entry.action for entry in AuditEntry.query.order_by(AuditEntry.id)]
    assert actions == ["endpoint.create", "endpoint.update", "endpoint.pause", "endpoint.resume",
                       "endpoint.rotate_secret", "endpoint.test", "endpoint.replay",
                       "delivery.export", "endpoint.delete"]
    stored = json.dumps([(e.actor_name, e.target_id, e.details) for e in AuditEntry.query])
    for secret_value in (secret, rotated, "top-secret-header-value"):
        assert secret_value not in stored

    auth.login(admin.email)
    text = client.get("/organization/audit").get_data(as_text=True)
    for action in actions:
        assert action in text
    for secret_value in (secret, rotated, "top-secret-header-value"):
        assert secret_value not in text


def test_filters_by_action_actor_and_date(client, auth, admin, org):
    token, _ = factories.make_token(org, "CI pipeline")
    audit.record(org.id, token, "delivery.retry", "delivery", "d-1")
    audit.record(org.id, admin, "endpoint.pause", "endpoint", "e-1")
    old = audit.record(org.id, admin, "endpoint.delete", "endpoint", "e-2", commit=False)
    old.created_at = utcnow() - timedelta(days=10)
    audit.record(org.id, admin, "endpoint.delete", "endpoint", "e-3")
    auth.login(admin.email)

    def rows(query):
        text = client.get("/organization/audit" + query).get_data(as_text=True)
        return text.split("<tbody>")[1].split("</tbody>")[0]

    by_action = rows("?action=delivery.retry")
    assert "d-1" in by_action and "e-1" not in by_action
    by_actor = rows("?actor=CI+pipe")
    assert "d-1" in by_actor and "e-1" not in by_actor and "(token)" in by_actor
    since = (utcnow() - timedelta(days=1)).date().isoformat()
    recent = rows(f"?from={since}")
    assert "e-3" in recent and "e-2" not in recent
    response = client.get("/organization/audit?from=not-a-date")
    assert response.status_code == 200
    assert "must be an ISO-8601 date" in response.get_data(as_text=True)


def test_other_organizations_rows_never_show(client, auth, admin):
    other = factories.make_org()
    audit.record(other.id, None, "endpoint.delete", "endpoint", "foreign-target")
    auth.login(admin.email)
    assert "foreign-target" not in client.get("/organization/audit").get_data(as_text=True)


def test_pages_of_fifty_newest_first(client, auth, admin, org):
    for n in range(55):
        audit.record(org.id, admin, "endpoint.update", "endpoint", f"target-{n:02d}")
    auth.login(admin.email)
    text = client.get("/organization/audit").get_data(as_text=True)
    assert "target-54" in text and "target-05" in text and "target-04" not in text
    link = text.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    older = client.get(link).get_data(as_text=True)
    assert "target-04" in older and "target-05" not in older


def test_only_admins_see_the_audit_log(client, auth, org):
    for role in ("integrations", "viewer"):
        user = factories.make_user(org, role)
        auth.login(user.email)
        assert client.get("/organization/audit").status_code == 403
        text = client.get("/organization/webhooks/history").get_data(as_text=True)
        assert "Audit log" not in text


def test_targets_are_named_and_text_is_shown_as_written(client, auth, admin, org):
    endpoint = factories.make_endpoint(org, "Дежурный канал")
    gone = factories.make_endpoint(org, "Old one", deleted_at=utcnow())
    token, _ = factories.make_token(org, "CI токен")
    audit.record(org.id, admin, "endpoint.update", "endpoint", endpoint.id,
                 {"name": "Дежурный канал", "changed": ["name"]})
    audit.record(org.id, admin, "endpoint.delete", "endpoint", gone.id, {"name": "Old one"})
    audit.record(org.id, admin, "token.create", "token", str(token.id), {"name": "CI токен"})
    auth.login(admin.email)
    text = client.get("/organization/audit").get_data(as_text=True)
    assert f'<a href="/organization/webhooks/{endpoint.id}">Дежурный канал</a>' in text
    assert 'name=&#34;Дежурный канал&#34;' in text and "\\u0414" not in text
    assert "endpoint Old one <span class=\"text-secondary\">(deleted)</span>" in text
    assert "token CI токен" in text


def test_a_very_long_filter_is_explained_next_to_its_field(client, auth, admin):
    auth.login(admin.email)
    response = client.get("/organization/audit", query_string={"actor": "x" * 5000})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "&#39;actor&#39; must be at most 254 characters" in text
    assert 'id="a-actor-error"' in text and 'maxlength="254"' in text
