"""History service: filters, keyset pagination, cursors and tenancy."""
from datetime import UTC, datetime, timedelta

import pytest

from app.models import utcnow
from app.services import history
from tests import factories


def at(day, hour=12):
    return datetime(2025, 1, day, hour, tzinfo=UTC)


@pytest.fixture
def endpoint(org):
    return factories.make_endpoint(org, "Primary")


def test_filters_read_dates_datetimes_and_names(org, endpoint):
    filters, errors = history.read_filters(org.id, {
        "from": "2025-01-10", "to": "2025-01-12", "eventType": "scan.completed",
        "status": "failed", "webhook": endpoint.id,
    })
    assert errors == {}
    assert filters.start == at(10, 0)
    # A date as the end bound includes that whole day.
    assert filters.end == at(13, 0)
    assert (filters.event_type, filters.status, filters.endpoint_id) == (
        "scan.completed", "failed", endpoint.id)
    filters, _ = history.read_filters(org.id, {"from": "2025-01-10T10:00:00+02:00",
                                               "to": "2025-01-10T12:00:00Z"})
    assert filters.start == datetime(2025, 1, 10, 8, tzinfo=UTC)
    assert filters.end == datetime(2025, 1, 10, 12, 0, 0, 1, tzinfo=UTC)


def test_invalid_filters_are_explained_and_left_out(org):
    other_org = factories.make_org()
    foreign = factories.make_endpoint(other_org)
    filters, errors = history.read_filters(org.id, {
        "from": "yesterday", "eventType": "scan.exploded", "status": "lost",
        "webhook": foreign.id,
    })
    assert filters == history.HistoryFilters()
    assert set(errors) == {"from", "eventType", "status", "webhook"}
    assert "ISO-8601" in errors["from"]
    assert errors["webhook"] == "No such webhook in this organization"
    _, errors = history.read_filters(org.id, {"from": "2025-01-12", "to": "2025-01-10"})
    assert errors == {"to": "'to' must be after 'from'"}


def test_filters_select_matching_deliveries(org, endpoint):
    other = factories.make_endpoint(org, "Other")
    wanted = factories.make_delivery(endpoint, "failed", "scan.failed", created_at=at(11))
    factories.make_delivery(endpoint, "delivered", "scan.failed", created_at=at(11))
    factories.make_delivery(endpoint, "failed", "scan.completed", created_at=at(11))
    factories.make_delivery(other, "failed", "scan.failed", created_at=at(11))
    factories.make_delivery(endpoint, "failed", "scan.failed", created_at=at(9))
    filters, _ = history.read_filters(org.id, {
        "from": "2025-01-10", "to": "2025-01-11", "eventType": "scan.failed",
        "status": "failed", "webhook": endpoint.id,
    })
    rows, cursor = history.history_page(org.id, filters)
    assert [row.id for row in rows] == [wanted.id] and cursor is None


def test_keyset_pages_walk_every_row_once_newest_first(org, endpoint):
    same_moment = at(5)
    made = [factories.make_delivery(endpoint, created_at=same_moment) for _ in range(4)]
    made += [factories.make_delivery(endpoint, created_at=at(6 + i)) for i in range(3)]
    expected = sorted(made, key=lambda d: (d.created_at, d.id), reverse=True)
    seen, cursor = [], None
    while True:
        rows, cursor = history.history_page(org.id, history.HistoryFilters(), cursor, limit=2)
        seen += [row.id for row in rows]
        if cursor is None:
            break
    assert seen == [d.id for d in expected]


@pytest.mark.parametrize("cursor", ["!!!", "bm90LWEtY3Vyc29y", "", "MjAyNS0wMS0wMXw"])
def test_bad_cursor_raises_cursor_error(org, cursor):
    if cursor == "":
        assert history.history_page(org.id, history.HistoryFilters(), cursor) == ([], None)
        return
    with pytest.raises(history.CursorError):
        history.history_page(org.id, history.HistoryFilters(), cursor)


def test_other_organizations_rows_never_show(org, endpoint):
    other_org = factories.make_org()
    foreign = factories.make_delivery(factories.make_endpoint(other_org))
    mine = factories.make_delivery(endpoint)
    rows, _ = history.history_page(org.id, history.HistoryFilters())
    assert [row.id for row in rows] == [mine.id]
    assert history.get_delivery(org.id, foreign.id) is None
    assert history.recent_attempts(org.id, foreign.endpoint_id) == []


def test_deleted_endpoints_stay_selectable_and_marked(org, endpoint):
    gone = factories.make_endpoint(org, "Old one", deleted_at=utcnow())
    delivery = factories.make_delivery(gone)
    assert (gone.id, "Old one (deleted)") in history.endpoint_choices(org.id)
    filters, errors = history.read_filters(org.id, {"webhook": gone.id})
    assert errors == {}
    assert [row.id for row in history.history_page(org.id, filters)[0]] == [delivery.id]


def test_retryable_batches_cover_failed_and_exhausted_only(org, endpoint):
    now = utcnow()
    wanted = {factories.make_delivery(endpoint, status, created_at=now - timedelta(minutes=i)).id
              for i, status in enumerate(["failed", "exhausted", "failed"])}
    factories.make_delivery(endpoint, "delivered")
    factories.make_delivery(endpoint, "pending")
    filters = history.HistoryFilters()
    assert history.count_retryable(org.id, filters) == 3
    found, after = [], None
    while True:
        ids, after = history.retryable_ids(org.id, filters, after, limit=2)
        if not ids:
            break
        found += ids
    assert sorted(found) == sorted(wanted) and len(found) == 3


def test_filters_round_trip_through_a_dict(org, endpoint):
    filters, _ = history.read_filters(org.id, {"from": "2025-01-10", "status": "failed",
                                               "webhook": endpoint.id})
    assert history.HistoryFilters.from_dict(filters.as_dict()) == filters


@pytest.mark.parametrize("value", ["not an id", "abc\x00", "x" * 40])
def test_a_webhook_value_that_cannot_be_an_id_is_refused(org, value):
    filters, errors = history.read_filters(org.id, {"webhook": value})
    assert filters.endpoint_id is None
    assert errors == {"webhook": "No such webhook in this organization"}


def test_search_finds_by_delivery_id_event_id_endpoint_id_or_name(org, endpoint):
    other = factories.make_endpoint(org, "Slack #AppSec alerts")
    one = factories.make_delivery(endpoint, "failed", created_at=at(11))
    two = factories.make_delivery(other, "delivered", created_at=at(12))
    three = factories.make_delivery(other, "failed", created_at=at(13))
    foreign = factories.make_delivery(factories.make_endpoint(factories.make_org(), "Slack"),
                                      created_at=at(12))

    def found(text):
        filters, errors = history.read_filters(org.id, {"q": text})
        assert errors == {}
        return [row.id for row in history.history_page(org.id, filters)[0]]

    assert found(one.id) == [one.id]
    assert found(one.id.upper()) == [one.id]
    assert found(f"  {two.event_id} ") == [two.id]
    assert found(other.id) == [three.id, two.id]
    assert found("appsec") == [three.id, two.id]
    assert found("slack #appsec ALERTS") == [three.id, two.id]
    assert found(foreign.id) == [] and found(foreign.event_id) == []
    # LIKE wildcards are plain text.
    assert found("%") == [] and found("_") == []
    assert found(one.id[:8]) == []


def test_search_combines_with_the_other_filters_and_is_bounded(org, endpoint):
    factories.make_delivery(endpoint, "failed", created_at=at(11))
    delivered = factories.make_delivery(endpoint, "delivered", created_at=at(11))
    filters, _ = history.read_filters(org.id, {"q": "primary", "status": "delivered"})
    assert [row.id for row in history.history_page(org.id, filters)[0]] == [delivered.id]
    assert history.HistoryFilters.from_dict(filters.as_dict()) == filters
    filters, errors = history.read_filters(org.id, {"q": "x" * 201})
    assert filters.query is None
    assert errors == {"q": "The search text must be at most 200 characters"}


@pytest.mark.parametrize("args", [
    {"status": "failed"}, {"eventType": "scan.failed"},
    {"status": "failed", "eventType": "scan.failed"}, {"webhook": "other"},
    {"from": "2025-01-01", "to": "2025-01-02"}, {"q": "other"},
])
def test_keyset_pages_under_a_filter_walk_its_rows_once_newest_first(org, endpoint, args):
    other = factories.make_endpoint(org, "Other hook")
    made = []
    for n in range(24):
        # Groups of four deliveries share their creation time.
        made.append(factories.make_delivery(
            (endpoint, other)[n % 2], ("failed", "delivered", "exhausted")[n % 3],
            ("scan.failed", "scan.completed")[n % 4 == 0],
            created_at=datetime(2025, 1, 1 + n // 8, 12, n // 4 % 2, tzinfo=UTC)))
    if "webhook" in args:
        args = {"webhook": other.id}
    filters, errors = history.read_filters(org.id, args)
    assert not errors

    def selected(delivery):
        return ((filters.status in (None, delivery.status))
                and (filters.event_type in (None, delivery.event_type))
                and (filters.endpoint_id in (None, delivery.endpoint_id))
                and (filters.start is None or delivery.created_at >= filters.start)
                and (filters.end is None or delivery.created_at < filters.end)
                and (filters.query is None or delivery.endpoint_id == other.id))

    expected = sorted(filter(selected, made), key=lambda d: (d.created_at, d.id), reverse=True)
    seen, cursor = [], None
    while True:
        rows, cursor = history.history_page(org.id, filters, cursor, limit=2)
        seen += [row.id for row in rows]
        if cursor is None:
            break
    assert len(expected) > 2 and seen == [d.id for d in expected]
