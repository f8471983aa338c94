"""The endpoint form's delivery options: payload filter rows, the sample check, rate limit,
ordered; all plain form posts (no script)."""
import html
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Endpoint

from .. import factories

PUBLIC_URL = "https://93.184.215.14/hook"


@pytest.fixture
def config_overrides():
    return {"WEBHOOK_ALLOW_HTTP": False, "WEBHOOK_ALLOW_PRIVATE_TARGETS": False}


@pytest.fixture
def admin_client(client, auth, org):
    auth.login(factories.make_user(org, "admin").email)
    return client


def form(**fields):
    data = {"name": "Ops", "url": PUBLIC_URL, "type": "other",
            "events": ["issue.status_changed", "scan.completed"], "retry_policy": "standard",
            "save": "Save"}
    data.update(fields)
    return data


def rows(*conditions):
    """Form fields of filter rows: (path, op, value) each."""
    data = {}
    for index, (path, op, value) in enumerate(conditions):
        data.update({f"payload_filter-{index}-path": path, f"payload_filter-{index}-op": op,
                     f"payload_filter-{index}-value": value})
    return data


def text_of(response):
    return html.unescape(response.get_data(as_text=True))


def saved():
    db.session.expire_all()
    return db.session.execute(select(Endpoint)).scalars().all()


def test_new_form_has_blank_condition_rows_rate_limit_and_ordered(admin_client):
    page = text_of(admin_client.get("/organization/webhooks/new"))
    assert 'name="payload_filter-0-path"' in page and 'name="payload_filter-1-path"' in page
    assert 'name="payload_filter-2-path"' not in page
    assert 'aria-label="Condition 1 operator"' in page
    assert 'name="rate_limit"' in page and 'name="ordered"' in page
    assert "Add condition" in page and "Check against samples" in page
    assert "one failing delivery holds back all the others" in page
    assert "style=" not in page.split('id="payload-filter"')[1].split("Ordered delivery")[0]


def test_conditions_rate_limit_and_ordered_are_saved_and_shown_again(admin_client):
    response = admin_client.post("/organization/webhooks/new", data=form(
        rate_limit=" 25 ", ordered="y",
        **rows(("data.urgency", "in", "HI, CR"), ("", "eq", ""), ("data.line_num", "gt", "10"),
               ("data.classification", "eq", '"45"'), ("data.note", "exists", ""))))
    assert response.status_code == 302, text_of(response)[:2000]
    [endpoint] = saved()
    assert endpoint.payload_filter == [
        {"path": "data.urgency", "op": "in", "value": ["HI", "CR"]},
        {"path": "data.line_num", "op": "gt", "value": 10},
        {"path": "data.classification", "op": "eq", "value": "45"},
        {"path": "data.note", "op": "exists", "value": True},
    ]
    assert (endpoint.rate_limit, endpoint.ordered) == (25, True)

    page = text_of(admin_client.get(f"/organization/webhooks/{endpoint.id}/edit"))
    assert 'value="data.urgency"' in page and 'value="["HI", "CR"]"' in page
    assert 'value=""45""' in page and 'name="payload_filter-5-path"' in page
    assert re.search(r'name="rate_limit"[^>]*value="25"', page)
    assert re.search(r'<input[^>]*checked[^>]*name="ordered"|name="ordered"[^>]*checked', page)

    # Remove one condition, clear the limit, switch ordered off: the rest stays.
    response = admin_client.post(f"/organization/webhooks/{endpoint.id}/edit", data=form(
        rate_limit="", **rows(("data.urgency", "in", '["HI", "CR"]'),
                              ("data.line_num", "gt", "10")),
        **{"payload_filter-1-remove": "y"}))
    assert response.status_code == 302
    [endpoint] = saved()
    assert endpoint.payload_filter == [{"path": "data.urgency", "op": "in", "value": ["HI", "CR"]}]
    assert (endpoint.rate_limit, endpoint.ordered) == (None, False)


def test_bad_conditions_are_explained_next_to_their_row_and_input_is_kept(admin_client):
    response = admin_client.post("/organization/webhooks/new", data=form(**rows(
        ("data.urgency", "in", '["HI"]'), ("urgency", "eq", "HI"), ("data.n", "gt", "true"))))
    assert response.status_code == 422
    page = text_of(response)
    assert "Nothing was saved" in page
    second = page.index('name="payload_filter-1-path"')
    third = page.index('name="payload_filter-2-path"')
    assert "must start with data, event_type, event_id, timestamp" in page[second:third]
    assert "gt takes a number or a string" in page[third:third + 1500]
    assert 'value="urgency"' in page and 'value="true"' in page
    assert saved() == []


def test_too_many_conditions_are_explained_at_the_filter(admin_client):
    conditions = [(f"data.f{n}", "exists", "") for n in range(21)]
    page = text_of(admin_client.post("/organization/webhooks/new", data=form(**rows(*conditions))))
    filter_part = page[page.index('id="payload-filter"'):page.index('name="rate_limit"')]
    assert "Payload filter may have at most 20 conditions" in filter_part


@pytest.mark.parametrize(("text", "message"), [
    ("fast", "Rate limit must be a whole number of deliveries per second from 1 to 1,000"),
    ("0", "from 1 to 1,000, or empty for no limit"),
    ("1001", "from 1 to 1,000"),
    ("-3", "from 1 to 1,000"),
    ("99999999999999999999", "from 1 to 1,000"),
])
def test_a_bad_rate_limit_is_explained_next_to_the_field(admin_client, text, message):
    response = admin_client.post("/organization/webhooks/new", data=form(rate_limit=text))
    assert response.status_code == 422
    page = text_of(response)
    position = page.index('id="rate_limit"')
    assert message in page[position:position + 800]
    assert saved() == []


def test_add_condition_adds_a_row_and_keeps_what_was_typed(admin_client):
    response = admin_client.post("/organization/webhooks/new", data=form(
        save=None, add_condition="Add condition", name="Typed name",
        **rows(("data.urgency", "eq", "HI"), ("data.line_num", "lt", "9"))))
    assert response.status_code == 200
    page = text_of(response)
    assert 'name="payload_filter-2-path"' in page
    assert 'value="data.urgency"' in page and 'value="data.line_num"' in page
    assert 'value="Typed name"' in page
    assert re.search(r'<option selected value="lt">|<option value="lt" selected', page)
    assert saved() == []


def test_the_filter_is_checked_against_each_subscribed_sample(admin_client):
    response = admin_client.post("/organization/webhooks/new", data=form(
        save=None, check_filter="Check against samples",
        **rows(("data.urgency", "in", "HI, CR"))))
    page = text_of(response)
    assert response.status_code == 200 and saved() == []
    verdicts = dict(re.findall(r'data-verdict="([^"]+)">(.*?)</li>', page, re.S))
    assert "this sample would be delivered" in verdicts["issue.status_changed"]
    assert "this sample would not be delivered" in verdicts["scan.completed"]
    assert 'condition 1 (data.urgency in ["HI", "CR"]) does not hold' in (
        verdicts["scan.completed"])

    page = text_of(admin_client.post("/organization/webhooks/new", data=form(
        save=None, check_filter="Check against samples", statuses=["open"],
        projects=["proj-other"])))
    verdicts = dict(re.findall(r'data-verdict="([^"]+)">(.*?)</li>', page, re.S))
    assert "status filter leaves out its status 'fixed'" in verdicts["issue.status_changed"]
    assert "project filter leaves out its project 'proj-uuid-9012'" in (
        verdicts["scan.completed"])


def test_add_condition_stops_at_the_rows_limit_without_an_error(admin_client):
    conditions = [(f"data.f{n}", "exists", "") for n in range(40)]
    response = admin_client.post("/organization/webhooks/new", data=form(
        save=None, add_condition="Add condition", **rows(*conditions)))
    assert response.status_code == 200
    assert 'name="payload_filter-39-path"' in text_of(response)
