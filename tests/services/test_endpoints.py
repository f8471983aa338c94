"""Endpoint service: secrets and headers never stored in plain text, grace period, health
status, statistics in one query, and one validation with the same messages everywhere."""
from datetime import date, timedelta

import pytest
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text

from app.extensions import db
from app.models import EndpointDailyStat, utcnow
from app.services import endpoints
from app.services.stats import endpoint_stats

from .. import factories

BASE = {"name": "Ops", "url": "https://93.184.215.14/hook", "events": ["scan.completed"]}


def test_database_holds_no_plaintext_secret_or_header_value(org):
    endpoint, secret = endpoints.create_endpoint(org.id, None, {
        **BASE, "headers": [{"name": "Authorization", "value": "Bearer header-value-123"},
                            {"name": "X-Automation-Webhook-Token", "value": "jira-token-456"}],
    })
    rotated = endpoints.rotate_secret(org.id, None, endpoint)
    org_id, endpoint_id = org.id, endpoint.id
    db.session.expunge_all()
    rows = db.session.execute(text("SELECT * FROM endpoints")).mappings().all()
    dump = repr([dict(row) for row in rows])
    secret_body = secret.removeprefix("whsec_")
    for plain in (secret, secret_body, rotated, rotated.removeprefix("whsec_"),
                  "header-value-123", "jira-token-456", "Authorization"):
        assert plain not in dump
    audit_rows = repr(db.session.execute(text("SELECT * FROM audit_entries")).all())
    for plain in (secret, rotated, "header-value-123", "jira-token-456"):
        assert plain not in audit_rows
    loaded = endpoints.get_endpoint(org_id, endpoint_id)
    assert endpoints.custom_headers(loaded) == [
        ("Authorization", "Bearer header-value-123"),
        ("X-Automation-Webhook-Token", "jira-token-456"),
    ]


def test_secret_format():
    secret = endpoints.generate_secret()
    import base64

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_previous_secret_signs_only_during_grace(org, app):
    app.config["WEBHOOK_SECRET_GRACE_HOURS"] = 2
    with freeze_time("2025-03-01 12:00:00"):
        endpoint, first = endpoints.create_endpoint(org.id, None, BASE)
        second = endpoints.rotate_secret(org.id, None, endpoint)
        assert endpoints.signing_secrets(endpoint) == [second, first]
        assert endpoints.rotation_in_progress(endpoint)
    with freeze_time("2025-03-01 13:59:00"):
        assert endpoints.signing_secrets(endpoint) == [second, first]
    with freeze_time("2025-03-01 14:00:01"):
        assert endpoints.signing_secrets(endpoint) == [second]
        assert not endpoints.rotation_in_progress(endpoint)


@pytest.mark.parametrize(("fields", "status"), [
    ({}, "pending"),
    ({"last_attempt_ok": True}, "healthy"),
    ({"last_attempt_ok": False}, "failing"),
    ({"is_active": False}, "paused"),
    ({"is_active": False, "last_attempt_ok": True}, "paused"),
    ({"disabled_at": utcnow(), "last_attempt_ok": False}, "disabled"),
    ({"disabled_at": utcnow(), "is_active": False}, "disabled"),
])
def test_health_status(org, fields, status):
    endpoint = factories.make_endpoint(org, **fields)
    assert endpoints.health_status(endpoint) == status


def test_get_endpoint_is_live_and_tenant_scoped(org):
    endpoint, _ = endpoints.create_endpoint(org.id, None, BASE)
    other = factories.make_org("Other")
    assert endpoints.get_endpoint(other.id, endpoint.id) is None
    assert endpoints.get_endpoint(org.id, 123) is None
    endpoints.delete_endpoint(org.id, None, endpoint)
    assert endpoints.get_endpoint(org.id, endpoint.id) is None
    assert endpoints.list_endpoints(org.id) == []


def test_stats_counters_and_daily_series_in_one_query(org, app):
    one = factories.make_endpoint(org, total_attempts=4, successful_attempts=3,
                                  failed_attempts=1, consecutive_failures=1,
                                  last_attempt_at=utcnow())
    two = factories.make_endpoint(org)
    today = date(2025, 3, 14)
    db.session.add_all([
        EndpointDailyStat(endpoint_id=one.id, org_id=org.id, day=today, successful=3, failed=1),
        EndpointDailyStat(endpoint_id=one.id, org_id=org.id, day=today - timedelta(days=13),
                          successful=2, failed=0),
        EndpointDailyStat(endpoint_id=one.id, org_id=org.id, day=today - timedelta(days=14),
                          successful=9, failed=9),
        EndpointDailyStat(endpoint_id=two.id, org_id=org.id, day=today, successful=0, failed=5),
    ])
    db.session.commit()
    for loaded in (one, two):
        db.session.refresh(loaded)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        result = endpoint_stats([one, two], today=today)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1
    first = result[one.id]
    assert (first["total"], first["successful"], first["failed"]) == (4, 3, 1)
    assert first["successRate"] == 0.75 and first["consecutiveFailures"] == 1
    assert first["lastTriggeredAt"].endswith("Z")
    assert len(first["daily"]) == 14
    assert first["daily"][0] == {"date": "2025-03-01", "successful": 2, "failed": 0}
    assert first["daily"][-1] == {"date": "2025-03-14", "successful": 3, "failed": 1}
    assert sum(day["failed"] for day in first["daily"]) == 1
    assert result[two.id]["daily"][-1]["failed"] == 5 and result[two.id]["successRate"] == 0.0
    assert result[two.id]["lastTriggeredAt"] is None


def test_validation_collects_every_field_message(app):
    with pytest.raises(endpoints.EndpointInvalid) as caught:
        endpoints.validate({"name": "", "url": "ftp://x", "events": [], "type": "fax",
                            "retryPolicy": 3, "headers": [{"name": "", "value": "orphan"}]})
    assert set(caught.value.fields) == {"name", "url", "events", "type", "retryPolicy",
                                        "headers"}
    assert caught.value.header_rows == {0: "Header name is required"}


def test_duplicate_header_names_are_refused(app):
    with pytest.raises(endpoints.EndpointInvalid, match="listed twice"):
        endpoints.validate({**BASE, "headers": [{"name": "X-A", "value": "1"},
                                                {"name": "x-a", "value": "2"}]})


def test_mask_shows_at_most_the_last_four_characters():
    assert endpoints.mask("Bearer abcdefgh") == "••••efgh"
    assert endpoints.mask("short") == "••••"


def test_demo_endpoints_are_paused_and_of_different_types(app):
    from app.demo import load_demo

    org_id = load_demo()["org_id"]
    found = endpoints.list_endpoints(org_id)
    assert sorted(endpoint.type for endpoint in found) == [
        "jira", "other", "pagerduty", "slack", "splunk"]
    assert {endpoints.health_status(endpoint) for endpoint in found} == {"paused"}
    assert all(endpoint.created_by_name == "admin@example.com" for endpoint in found)


def test_text_that_cannot_be_stored_is_refused(app):
    with pytest.raises(endpoints.EndpointInvalid) as caught:
        endpoints.validate({**BASE, "name": "a\x00b", "description": "\ud800",
                            "bodyTemplate": '{"a": "\x00"}', "projects": ["p\x00"]})
    assert set(caught.value.fields) == {"name", "description", "bodyTemplate", "projects"}
    assert caught.value.fields["name"] == "Must be valid text without NUL characters"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.dictionaries(st.sampled_from(endpoints.FIELDS + ("other",)), _JSON, max_size=6))
def test_validate_answers_any_json_with_clean_values_or_field_messages(app, data):
    try:
        clean = endpoints.validate({**BASE, **data})
    except endpoints.EndpointInvalid as exc:
        assert exc.fields and all(isinstance(m, str) and m for m in exc.fields.values())
        assert set(exc.fields) <= {*endpoints.FIELDS, "other"}
        assert ("other" in exc.fields) == ("other" in data)
    else:
        assert isinstance(clean["name"], str) and clean["events"] and "other" not in data
