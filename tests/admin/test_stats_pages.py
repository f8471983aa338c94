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
    auth.login(viewer.email)
    text = client.get("/organization/webhooks/stats").get_data(as_text=True)

    section = text.split('id="stats-' + alerts.id)[1].split("</section>")[0]
    for stat, value in (("total", "8"), ("successful", "6"), ("failed", "2"),
                        ("successRate", "75.0%"), ("consecutiveFailures", "2")):
        assert f'data-stat="{stat}">{value}<' in section
    assert ('<time datetime="2025-01-15T14:30:00.000Z">2025-01-15 14:30:00 UTC</time>'
            in section)
    assert section.count('<g class="bar">') == 14
    assert f"<title>{today.isoformat()}: 4 successful, 2 failed</title>" in section
    three_days_ago = (today - timedelta(days=3)).isoformat()
    assert f"<title>{three_days_ago}: 2 successful, 0 failed</title>" in section
    organization = text.split('id="org-chart"')[1].split("</section>")[0]
    # Every endpoint's day, deleted ones too; days older than 14 are not drawn.
    assert f"<title>{today.isoformat()}: 8 successful, 3 failed</title>" in organization
    assert "50 successful" not in text
    assert "Retired" not in text and "cdn" not in text.lower()


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
