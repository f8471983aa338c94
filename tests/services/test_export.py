"""CSV export service: header, one row per delivery, filters, formula neutralization."""
import csv
import io
from datetime import UTC, date, datetime

from app.services import export, history
from tests import factories


def read_csv(org_id, filters=None):
    chunks = list(export.csv_chunks(org_id, filters or history.HistoryFilters()))
    return chunks, list(csv.reader(io.StringIO("".join(chunks))))


def test_rows_carry_every_column_newest_first(org):
    endpoint = factories.make_endpoint(org, "Slack alerts", url="https://hooks.example.test/a")
    old = factories.make_delivery(endpoint, "failed", "scan.failed", attempt_count=2,
                                  last_status_code=500, last_error="HTTP 500",
                                  created_at=datetime(2025, 1, 1, tzinfo=UTC))
    new = factories.make_delivery(endpoint, "delivered", created_at=datetime(2025, 1, 2,
                                                                             tzinfo=UTC),
                                  delivered_at=datetime(2025, 1, 2, 0, 0, 1, tzinfo=UTC),
                                  attempt_count=1, last_status_code=200)
    _, rows = read_csv(org.id)
    assert rows[0] == list(export.HEADER)
    assert [row[0] for row in rows[1:]] == [new.id, old.id]
    assert rows[2] == [old.id, "2025-01-01T00:00:00+00:00", "Slack alerts",
                       "https://hooks.example.test/a", "scan.failed", old.event_id, "failed",
                       "2", "500", "HTTP 500", ""]
    assert rows[1][-1] == "2025-01-02T00:00:01+00:00"


def test_formula_cells_are_neutralized(org):
    endpoint = factories.make_endpoint(org, "=HYPERLINK(\"http://evil\")")
    factories.make_delivery(endpoint, "failed", last_error="-2+3")
    factories.make_delivery(endpoint, "failed", last_error="@SUM(A1)")
    factories.make_delivery(endpoint, "failed", last_error="\tcmd")
    factories.make_delivery(endpoint, "failed", last_error="+1")
    factories.make_delivery(endpoint, "failed", last_error="\rx")
    factories.make_delivery(endpoint, "failed", last_error="plain = text")
    factories.make_delivery(endpoint, "pending", last_error=None)
    _, rows = read_csv(org.id)
    assert {row[2] for row in rows[1:]} == {"'=HYPERLINK(\"http://evil\")"}
    assert sorted(row[9] for row in rows[1:]) == sorted(
        ["'\tcmd", "'-2+3", "'@SUM(A1)", "'+1", "'\rx", "plain = text", ""])


def test_export_applies_filters_and_tenancy(org):
    endpoint = factories.make_endpoint(org)
    wanted = factories.make_delivery(endpoint, "exhausted")
    factories.make_delivery(endpoint, "delivered")
    factories.make_delivery(factories.make_endpoint(factories.make_org()), "exhausted")
    filters, _ = history.read_filters(org.id, {"status": "exhausted"})
    _, rows = read_csv(org.id, filters)
    assert [row[0] for row in rows[1:]] == [wanted.id]


def test_export_streams_in_chunks(org):
    endpoint = factories.make_endpoint(org)
    for _ in range(1000):
        factories.make_delivery(endpoint)
    chunks, rows = read_csv(org.id)
    assert len(rows) == 1001
    assert len(chunks) >= 2
    assert all(len(chunk) >= export.CHUNK_SIZE for chunk in chunks[:-1])


def test_file_name_is_dated():
    assert export.filename(date(2025, 1, 15)) == "hookline-deliveries-20250115.csv"


def test_timestamps_read_as_iso_8601_utc_with_their_fraction(org):
    endpoint = factories.make_endpoint(org)
    delivery = factories.make_delivery(
        endpoint, created_at=datetime(2025, 1, 15, 14, 30, 0, 250000, tzinfo=UTC),
        delivered_at=datetime(2025, 1, 15, 14, 30, 1, 7, tzinfo=UTC))
    _, rows = read_csv(org.id)
    assert rows[1][1] == delivery.created_at.isoformat() == "2025-01-15T14:30:00.250000+00:00"
    assert rows[1][10] == "2025-01-15T14:30:01.000007+00:00"


def test_export_rows_are_the_history_rows_of_the_same_filter(org):
    slack = factories.make_endpoint(org, "Slack alerts")
    jira = factories.make_endpoint(org, "Jira sync")
    # Several deliveries share each creation time: the order must still be one and the same.
    for n in range(60):
        at = datetime(2025, 1, 1 + n // 7, tzinfo=UTC)
        factories.make_delivery(slack if n % 3 else jira, ("failed", "delivered")[n % 2],
                                ("scan.failed", "scan.completed")[n % 5 == 0], created_at=at)
    for args in ({}, {"status": "failed"}, {"eventType": "scan.completed"}, {"q": "jira"},
                 {"webhook": slack.id, "from": "2025-01-03", "to": "2025-01-06"}):
        filters, errors = history.read_filters(org.id, args)
        assert not errors
        listed, cursor = [], None
        while True:
            page, cursor = history.history_page(org.id, filters, cursor, limit=7)
            listed += [delivery.id for delivery in page]
            if cursor is None:
                break
        _, rows = read_csv(org.id, filters)
        assert [row[0] for row in rows[1:]] == listed, args
        assert listed
