"""Statistics page: per-endpoint figures from the counters and 14-day SVG charts."""
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from app.extensions import db
from app.models import EndpointDailyStat, utcnow
from tests import factories


def add_day(endpoint, day, successful, failed):
    db.session.add(EndpointDailyStat(endpoint_id=endpoint.id, org_id=endpoint.org_id, day=day,
                                     successful=successful, failed=failed))
    db.session.commit()


def test_figures_and_charts_per_endpoint_and_for_the_organization(client, auth, org):
    viewer = factories.make_user(org, "viewer")
    today = utcnow().date()
    alerts = factories.make_endpoint(org, "Slack alerts", total_attempts=8,
                                     successful_attempts=6, failed_attempts=2,
                                     consecutive_failures=2,
                                     last_attempt_at=datetime(2025, 1, 15, 14, 30, tzinfo=UTC))
    jira = factories.make_endpoint(org, "Jira sync", total_attempts=3, successful_attempts=3,
                                   failed_attempts=0)
    gone = factories.make_endpoint(org, "Retired", deleted_at=utcnow())
    add_day(alerts, today, 4, 2)
    add_day(alerts, today - timedelta(days=3), 2, 0)
    add_day(jira, today, 3, 0)
    add_day(gone, today, 1, 1)
    add_day(alerts, today - timedelta(days=20), 50, 50)
    for _ in range(3):
        factories.make_delivery(alerts, created_at=utcnow())
    auth.login(viewer.email)
    text = client.get("/organization/webhooks/stats").get_data(as_text=True)

    section = text.split('id="stats-' + alerts.id)[1].split("</section>")[0]
    # The range's calls (attempts) and deliveries, labelled apart; the all-time counters.
    assert 'data-stat="calls">8<' in section and "Calls · 14 days" in section
    assert 'data-stat="deliveries">3<' in section and "Deliveries · 14 days" in section
    assert 'data-stat="successRate">75.0%<' in section
    assert 'data-stat="consecutiveFailures">2<' in section
    for stat, value in (("total", "8"), ("successful", "6"), ("failed", "2")):
        assert f'data-stat="{stat}">{value}<' in section
    assert '<time datetime="2025-01-15T14:30:00Z" title="2025-01-15 14:30:00 UTC"' in section
    # 14 days drawn, each total written over its bar, the figures again in a table.
    assert section.count("<g>") == 14
    day = f"{today:%b} {today.day}"
    assert f"<title>{day}: 4 successful, 2 failed</title>" in section
    assert '<text class="bar-value"' in section and ">6</text>" in section
    three = today - timedelta(days=3)
    assert f"<title>{three:%b} {three.day}: 2 successful, 0 failed</title>" in section
    assert "The figures as a table" in section and section.count("<tr>") == 15
    organization = text.split('id="org-chart"')[1].split("</section>")[0]
    # Every endpoint's day, deleted ones too; days older than 14 are not drawn.
    assert f"<title>{day}: 8 successful, 3 failed</title>" in organization
    assert "50 successful" not in text
    assert "Retired" not in text and "cdn" not in text.lower()


def test_an_endpoint_without_calls_says_so_instead_of_zeros(client, auth, admin, org):
    factories.make_endpoint(org, "Brand new")
    auth.login(admin.email)
    text = client.get("/organization/webhooks/stats").get_data(as_text=True)
    section = text.split("Brand new")[1].split("</section>")[0]
    assert "No deliveries yet." in section
    assert "0.0%" not in section and "<svg" not in section
    assert "No deliveries in the last 14 days." in text


def test_the_range_changes_the_window_and_a_bad_one_falls_back_with_a_message(
        client, auth, admin, org):
    endpoint = factories.make_endpoint(org, "Ranged", total_attempts=2, successful_attempts=2)
    delivery = factories.make_delivery(endpoint, created_at=utcnow())
    factories.make_attempt(delivery, succeeded=True, started_at=utcnow(), response_status=200)
    add_day(endpoint, utcnow().date() - timedelta(days=10), 1, 0)
    auth.login(admin.email)
    day = client.get("/organization/webhooks/stats?range=24h").get_data(as_text=True)
    section = day.split('id="stats-' + endpoint.id)[1].split("</section>")[0]
    assert section.count("<g>") == 24 and "Calls · 24 h" in section
    assert 'data-stat="calls">1<' in section
    assert 'aria-current="page">24 hours</a>' in day
    month = client.get("/organization/webhooks/stats?range=30d").get_data(as_text=True)
    assert month.split('id="stats-' + endpoint.id)[1].count("<g>") == 30
    week = client.get("/organization/webhooks/stats?range=7d").get_data(as_text=True)
    assert 'data-stat="calls">0<' in week.split('id="stats-' + endpoint.id)[1]
    bad = client.get("/organization/webhooks/stats?range=forever")
    assert bad.status_code == 200
    text = bad.get_data(as_text=True)
    assert "range must be one of 24h, 7d, 14d, 30d; showing the last 14 days." in text
    assert 'aria-current="page">14 days</a>' in text


def test_page_cost_does_not_grow_with_endpoints(app, client, auth, admin, org):
    auth.login(admin.email)
    counted = []

    def count(*args):
        counted.append(1)

    def queries_for_page():
        counted.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/organization/webhooks/stats").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(counted)

    factories.make_endpoint(org)
    few = queries_for_page()
    for _ in range(10):
        add_day(factories.make_endpoint(org), utcnow().date(), 1, 0)
    assert queries_for_page() == few
