"""Endpoint pages: list, add with the secret shown once, edit, pause/resume, rotate, delete."""
import re
import socket

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Endpoint, utcnow
from app.services import body_templates, endpoints

from .. import factories

PUBLIC_URL = "https://93.184.215.14/hook"


@pytest.fixture
def config_overrides():
    """The production address rule: https only, no private targets."""
    return {"WEBHOOK_ALLOW_HTTP": False, "WEBHOOK_ALLOW_PRIVATE_TARGETS": False}


def form(**fields):
    data = {"name": "Ops", "url": PUBLIC_URL, "type": "other", "events": ["scan.completed"],
            "retry_policy": "standard", "headers-0-name": "", "headers-0-value": "",
            "save": "Save"}
    data.update(fields)
    return data


def count():
    return db.session.execute(select(func.count(Endpoint.id))).scalar_one()


def login_admin(auth, org):
    user = factories.make_user(org, "admin")
    auth.login(user.email)
    return user


def test_empty_state_invites_add(client, auth, org):
    login_admin(auth, org)
    page = client.get("/organization/webhooks").get_data(as_text=True)
    assert "No webhook endpoints yet" in page and "+ Add endpoint" in page


def test_add_shows_secret_once_then_list_shows_row(client, auth, org):
    user = login_admin(auth, org)
    page = client.get("/organization/webhooks/new").get_data(as_text=True)
    assert 'name="events"' in page and "Apply template for type" in page
    response = client.post("/organization/webhooks/new", data=form(
        description="Slack #appsec notifier", type="slack", statuses=["fixed", "open"],
        **{"headers-0-name": "X-Api-Key", "headers-0-value": "api-key-98765"}))
    endpoint = db.session.execute(select(Endpoint)).scalar_one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organization/webhooks/{endpoint.id}/secret"
    shown = client.get(response.headers["Location"])
    text = shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    secret = re.search(r'>(whsec_[^<]+)</textarea>', text).group(1)
    assert "It will not be shown again" in text and 'data-copy="#signing-secret"' in text
    # A reload shows no secret and creates nothing.
    reloaded = client.get(response.headers["Location"]).get_data(as_text=True)
    assert secret not in reloaded and "cannot be shown again" in reloaded
    assert db.session.execute(select(func.count(Endpoint.id))).scalar_one() == 1
    assert secret not in str(client.get_cookie("session").value)
    assert endpoints.signing_secrets(endpoint) == [secret]
    assert endpoint.statuses == ["fixed", "open"] and endpoint.type == "slack"
    listing = client.get("/organization/webhooks").get_data(as_text=True)
    assert secret not in listing
    for expected in ("Ops", PUBLIC_URL, "Slack #appsec notifier", "scan.completed", user.email,
                     "Pending", "never", "Edit", "Delete"):
        assert expected in listing
    edit = client.get(f"/organization/webhooks/{endpoint.id}/edit").get_data(as_text=True)
    assert secret not in edit and "api-key-98765" not in edit and "••••8765" in edit


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"url": "http://93.184.215.14/x"}, "url", "URL must use HTTPS"),
        ({"url": "https://a:b@93.184.215.14/"}, "url", "username or password"),
        ({"url": "https://10.1.2.3/"}, "url", "blocked address"),
        ({"url": "https://localhost/"}, "url", "blocked address"),
        ({"url": "https://169.254.169.254/latest/meta-data"}, "url", "blocked address"),
        ({"url": "https://100.64.0.7/"}, "url", "blocked address"),
        ({"url": "https://224.0.0.251/"}, "url", "blocked address"),
        ({"url": "https://0.0.0.0/"}, "url", "blocked address"),
        ({"url": "https://[::1]/"}, "url", "blocked address"),
        ({"url": "https://[::ffff:127.0.0.1]/"}, "url", "blocked address"),
        ({"url": "https://[fd00::1]/"}, "url", "blocked address"),
        ({"url": "https://[fe80::1]/"}, "url", "blocked address"),
        ({"url": "https://2130706433/"}, "url", "blocked address"),
        ({"url": "https://0177.0.0.1/"}, "url", "blocked address"),
        ({"url": "https://0x7f.0.0.1/"}, "url", "blocked address"),
        ({"url": "https://" + socket.gethostname() + "/"}, "url", "resolves to a blocked"),
        ({"url": "https://93.184.215.14/" + "p" * 2100}, "url", "at most 2048"),
        ({"events": ["scan.exploded"]}, "events", "Unknown event type"),
        ({"statuses": ["asleep"]}, "statuses", "Unknown issue status"),
        ({"retry_policy": "eager"}, "retry_policy", "Retry policy must be one of"),
        ({"type": "fax"}, "type", "Type must be one of"),
        ({"headers-0-name": "Bad Header", "headers-0-value": "v"}, "headers-0-name",
         "is not valid"),
        ({"headers-0-name": "X-Big", "headers-0-value": "v" * 4097}, "headers-0-name",
         "at most 4 KB"),
        ({"headers-0-name": "Webhook-Signature", "headers-0-value": "v"}, "headers-0-name",
         "set by Hookline"),
        ({"events": []}, "events", "Choose at least one event"),
        ({"name": ""}, "name", "Name is required"),
        ({"description": "d" * 501}, "description", "at most 500"),
        ({"headers-0-name": "Content-Type", "headers-0-value": "text/plain"}, "headers-0-name",
         "set by Hookline"),
        ({"headers-0-name": "X-Bad", "headers-0-value": "a\nb"}, "headers-0-name",
         "CR, LF or NUL"),
        ({"body_template": '{"text": "{{event_type}}",}'}, "body_template",
         "Custom body is not valid JSON: "),
    ],
)
def test_invalid_input_shows_message_next_to_field_and_saves_nothing(
        client, auth, org, fields, field_id, message):
    login_admin(auth, org)
    response = client.post("/organization/webhooks/new", data=form(**fields))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Nothing was saved" in text
    # The message follows its field's input in the page.
    grouped = field_id in ("events", "statuses", "retry_policy")
    position = text.index(f'name="{field_id}"' if grouped else f'id="{field_id}"')
    assert message in text[position:position + 8000]
    assert count() == 0


def test_more_than_twenty_headers_is_refused(client, auth, org):
    login_admin(auth, org)
    rows = {}
    for index in range(21):
        rows[f"headers-{index}-name"] = f"X-H{index}"
        rows[f"headers-{index}-value"] = "v"
    response = client.post("/organization/webhooks/new", data=form(**rows))
    assert response.status_code == 422
    assert "At most 20 custom headers are allowed" in response.get_data(as_text=True)
    assert count() == 0


def test_body_template_error_says_where_and_which_event(client, auth, org):
    login_admin(auth, org)
    response = client.post("/organization/webhooks/new", data=form(
        events=["user.login"], body_template='{\n "a": {{data.user_id}}\n "b": 1}'))
    text = response.get_data(as_text=True)
    assert "line 3 column 2" in text and "user.login sample" in text


def test_add_header_and_apply_template_rerender_without_saving(client, auth, org):
    login_admin(auth, org)
    response = client.post("/organization/webhooks/new", data=form(
        type="pagerduty", add_header="Add header", save=None))
    text = response.get_data(as_text=True)
    assert 'id="headers-1-name"' in text and count() == 0
    response = client.post("/organization/webhooks/new", data=form(
        type="pagerduty", apply_template="Apply template for type", save=None))
    text = response.get_data(as_text=True)
    assert "routing_key" in text and "event_action" in text and count() == 0
    # The preset is accepted as it is.
    client.post("/organization/webhooks/new", data=form(
        type="pagerduty", body_template=body_templates.PRESETS["pagerduty"]))
    assert count() == 1


@pytest.mark.parametrize("kind", ["slack", "teams", "zapier", "pagerduty", "splunk", "jira",
                                  "other"])
def test_every_type_can_be_added_with_its_preset(client, auth, org, kind):
    login_admin(auth, org)
    response = client.post("/organization/webhooks/new", data=form(
        type=kind, events=["scan.completed", "user.login", "issue.assigned"],
        body_template=body_templates.PRESETS.get(kind, "")), follow_redirects=True)
    assert response.status_code == 200 and "whsec_" in response.get_data(as_text=True)
    assert db.session.execute(select(Endpoint.type)).scalar_one() == kind


def make(client, **fields):
    client.post("/organization/webhooks/new", data=form(**fields))
    newest = select(Endpoint).order_by(Endpoint.created_at.desc())
    return db.session.execute(newest).scalars().first()


def test_edit_keeps_blank_header_values_and_changes_fields(client, auth, org):
    login_admin(auth, org)
    endpoint = make(client, **{"headers-0-name": "Authorization",
                               "headers-0-value": "Bearer tok-abcdef"})
    response = client.post(f"/organization/webhooks/{endpoint.id}/edit", data=form(
        name="Renamed", retry_policy="quick", is_active="y",
        **{"headers-0-name": "Authorization", "headers-0-value": "",
           "headers-1-name": "X-Second", "headers-1-value": "two-2222"}))
    assert response.status_code == 302
    db.session.expire_all()
    endpoint = db.session.get(Endpoint, endpoint.id)
    assert endpoint.name == "Renamed" and endpoint.retry_policy == "quick"
    assert endpoints.custom_headers(endpoint) == [("Authorization", "Bearer tok-abcdef"),
                                                  ("X-Second", "two-2222")]
    # Clearing a row's name removes that header.
    client.post(f"/organization/webhooks/{endpoint.id}/edit", data=form(
        is_active="y", **{"headers-0-name": "", "headers-1-name": "X-Second"}))
    db.session.expire_all()
    assert endpoints.custom_headers(db.session.get(Endpoint, endpoint.id)) == [
        ("X-Second", "two-2222")]


def test_remove_checkbox_drops_a_saved_header(client, auth, org):
    login_admin(auth, org)
    endpoint = make(client, **{"headers-0-name": "X-One", "headers-0-value": "one-1111",
                               "headers-1-name": "X-Two", "headers-1-value": "two-2222"})
    client.post(f"/organization/webhooks/{endpoint.id}/edit", data=form(
        is_active="y", **{"headers-0-name": "X-One", "headers-0-remove": "y",
                          "headers-1-name": "X-Two"}))
    db.session.expire_all()
    assert endpoints.custom_headers(db.session.get(Endpoint, endpoint.id)) == [
        ("X-Two", "two-2222")]


def test_invalid_edit_saves_nothing(client, auth, org):
    login_admin(auth, org)
    endpoint = make(client)
    response = client.post(f"/organization/webhooks/{endpoint.id}/edit",
                           data=form(name="New", url="https://192.168.1.1/", is_active="y"))
    assert response.status_code == 422 and "blocked address" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Endpoint, endpoint.id).name == "Ops"


def test_pause_then_resume_from_edit_form(client, auth, org):
    login_admin(auth, org)
    endpoint = make(client)
    client.post(f"/organization/webhooks/{endpoint.id}/edit", data=form())  # Active unchecked
    assert "Paused" in client.get("/organization/webhooks").get_data(as_text=True)
    factories.make_delivery(endpoint, status="pending")
    factories.make_delivery(endpoint, status="failed")
    page = client.get(f"/organization/webhooks/{endpoint.id}/edit").get_data(as_text=True)
    assert "2 deliveries are waiting; resume sends them oldest first" in page
    assert "discard_held" in page
    response = client.post(f"/organization/webhooks/{endpoint.id}/edit",
                           data=form(is_active="y"), follow_redirects=True)
    assert "Resumed: 2 held deliveries sent, oldest first" in response.get_data(as_text=True)
    db.session.expire_all()
    assert endpoints.health_status(db.session.get(Endpoint, endpoint.id)) == "pending"


def test_resume_with_discard_cancels_held(client, auth, org):
    login_admin(auth, org)
    endpoint = make(client)
    endpoint.disabled_at = utcnow()
    endpoint.disabled_reason = "Disabled automatically"
    db.session.commit()
    held = factories.make_delivery(endpoint, status="failed")
    assert "Disabled" in client.get("/organization/webhooks").get_data(as_text=True)
    client.post(f"/organization/webhooks/{endpoint.id}/edit",
                data=form(is_active="y", discard_held="y"))
    db.session.expire_all()
    assert db.session.get(type(held), held.id).status == "cancelled"
    assert db.session.get(Endpoint, endpoint.id).disabled_at is None


def test_rotate_shows_new_secret_once_and_marks_rotation(client, auth, org):
    login_admin(auth, org)
    endpoint = make(client)
    old = endpoints.signing_secrets(endpoint)[0]
    # First a page that asks; asking changes nothing.
    confirm = client.get(f"/organization/webhooks/{endpoint.id}/rotate").get_data(as_text=True)
    assert "Rotate the signing secret of Ops?" in confirm and "24 hours" in confirm
    db.session.expire_all()
    assert endpoints.signing_secrets(db.session.get(Endpoint, endpoint.id)) == [old]
    response = client.post(f"/organization/webhooks/{endpoint.id}/rotate", follow_redirects=True)
    new = re.search(r'>(whsec_[^<]+)</textarea>', response.get_data(as_text=True)).group(1)
    assert new != old and "24 hours" in response.get_data(as_text=True)
    db.session.expire_all()
    assert endpoints.signing_secrets(db.session.get(Endpoint, endpoint.id)) == [new, old]
    listing = client.get("/organization/webhooks").get_data(as_text=True)
    assert "Rotation in progress" in listing and new not in listing


def test_delete_confirm_page_then_post(client, auth, org):
    login_admin(auth, org)
    endpoint = make(client)
    pending = factories.make_delivery(endpoint, status="pending")
    page = client.get(f"/organization/webhooks/{endpoint.id}/delete").get_data(as_text=True)
    assert "pending deliveries will be cancelled" in page and "1 waiting now" in page
    listing = client.get("/organization/webhooks").get_data(as_text=True)
    assert "Its pending deliveries will be cancelled" in listing  # the dialog
    response = client.post(f"/organization/webhooks/{endpoint.id}/delete", follow_redirects=True)
    assert "1 pending deliveries were cancelled" in response.get_data(as_text=True)
    assert "No webhook endpoints yet" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(pending), pending.id).status == "cancelled"
    assert client.get(f"/organization/webhooks/{endpoint.id}/edit").status_code == 404


def test_viewer_sees_table_without_actions_and_gets_403(client, auth, org):
    endpoint = factories.make_endpoint(org, name="Seen")
    viewer = factories.make_user(org, "viewer")
    auth.login(viewer.email)
    page = client.get("/organization/webhooks").get_data(as_text=True)
    assert "Seen" in page and "+ Add endpoint" not in page and ">Edit<" not in page
    for method, path in [("get", "/organization/webhooks/new"),
                         ("post", "/organization/webhooks/new"),
                         ("get", f"/organization/webhooks/{endpoint.id}/edit"),
                         ("post", f"/organization/webhooks/{endpoint.id}/edit"),
                         ("post", f"/organization/webhooks/{endpoint.id}/rotate"),
                         ("get", f"/organization/webhooks/{endpoint.id}/delete"),
                         ("post", f"/organization/webhooks/{endpoint.id}/delete")]:
        assert getattr(client, method)(path).status_code == 403, path


def test_other_organizations_endpoint_is_404(client, auth, org):
    other = factories.make_endpoint(factories.make_org("Other"), name="Theirs")
    login_admin(auth, org)
    assert "Theirs" not in client.get("/organization/webhooks").get_data(as_text=True)
    for method, path in [("get", f"/organization/webhooks/{other.id}/edit"),
                         ("post", f"/organization/webhooks/{other.id}/rotate"),
                         ("post", f"/organization/webhooks/{other.id}/delete")]:
        assert getattr(client, method)(path).status_code == 404


def test_list_page_query_count_does_not_grow_with_rows(client, auth, org, app):
    from sqlalchemy import event

    login_admin(auth, org)
    statements = []

    def counting(*args):
        statements.append(1)

    def queries_for_list():
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", counting)
        try:
            client.get("/organization/webhooks")
        finally:
            event.remove(db.engine, "before_cursor_execute", counting)
        return len(statements)

    factories.make_endpoint(org)
    few = queries_for_list()
    for _ in range(5):
        factories.make_endpoint(org)
    assert queries_for_list() == few


def test_enter_in_a_field_saves_the_first_submit_button_is_save(client, auth, org):
    """Browsers submit a form with its first submit button when Enter is pressed in a field."""
    login_admin(auth, org)
    for path in ("/organization/webhooks/new", f"/organization/webhooks/{make(client).id}/edit"):
        text = client.get(path).get_data(as_text=True)
        form_html = text.split('id="endpoint-form"')[1]
        first = re.search(r'<(?:button|input)[^>]*type="submit"[^>]*>', form_html).group(0)
        assert 'name="save"' in first, first
        assert "apply_template" in form_html and "preview" in form_html


def test_preview_renders_each_subscribed_sample_or_the_exact_error(client, auth, org):
    login_admin(auth, org)
    template = '{"text": "{{event_type}} {{data.project.name}}", "deep": {{data.nope.deep}}}'
    response = client.post("/organization/webhooks/new", data=form(
        events=["scan.completed", "user.login"], body_template=template,
        preview="Preview with samples", save=None))
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and count() == 0
    assert 'data-event-type="scan.completed"' in text and 'data-event-type="user.login"' in text
    assert "&#34;text&#34;: &#34;scan.completed Production API&#34;" in text
    assert text.count("{{data.nope.deep}}</code> is not in this event") == 2
    assert "{{data.project.name}}</code> is not in this event" in text  # user.login only
    broken = client.post("/organization/webhooks/new", data=form(
        body_template='{"text": {{event_type}', preview="Preview", save=None))
    assert "Custom body is not valid JSON: " in broken.get_data(as_text=True)
    assert 'class="text-danger small mb-0 preview-error"' in broken.get_data(as_text=True)
    blank = client.post("/organization/webhooks/new", data=form(preview="Preview", save=None))
    assert "&#34;event_type&#34;: &#34;scan.completed&#34;" in blank.get_data(as_text=True)


def test_saving_a_template_with_fields_a_sample_lacks_warns(client, auth, org):
    login_admin(auth, org)
    response = client.post("/organization/webhooks/new", data=form(
        body_template='{"n": {{data.nope.deep}}}'), follow_redirects=True)
    assert count() == 1
    assert ("The body template reads fields some events do not have; they render empty: "
            "{{data.nope.deep}} (scan.completed).") in response.get_data(as_text=True)


@pytest.mark.parametrize(("value", "message"), [
    ("a" * 4097, "Header X-Api-Key value must be at most 4 KB"),
    ("tok€n", "Header X-Api-Key value may only use Latin-1 characters"),
])
def test_a_header_value_error_shows_under_the_value(client, auth, org, value, message):
    login_admin(auth, org)
    response = client.post("/organization/webhooks/new", data=form(
        **{"headers-0-name": "X-Api-Key", "headers-0-value": value}))
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    value_input = re.search(r'<input[^>]*name="headers-0-value"[^>]*>', text).group(0)
    name_input = re.search(r'<input[^>]*name="headers-0-name"[^>]*>', text).group(0)
    assert "is-invalid" in value_input and "is-invalid" not in name_input
    after_value = text.split('name="headers-0-value"')[1].split('name="headers-0-remove"')[0]
    assert message in after_value
