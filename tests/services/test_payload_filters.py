"""Payload filters: every op, type mismatches, validation messages, the form's text values."""
import pytest

from app.services import payload_filters as pf

PAYLOAD = {
    "event_id": "e-1",
    "event_type": "issue.status_changed",
    "timestamp": "2025-01-15T14:30:00.000Z",
    "data": {
        "urgency": "HI",
        "line_num": 45,
        "score": 7.5,
        "fixed": True,
        "note": None,
        "classification": "SQL Injection",
        "issue_ids": ["i-1", "i-2", 3],
        "project": {"id": "proj-1", "name": "API"},
    },
}


def holds(path, op, value=True):
    return pf.holds({"path": path, "op": op, "value": value}, PAYLOAD)


@pytest.mark.parametrize(("path", "op", "value", "expected"), [
    ("data.urgency", "eq", "HI", True),
    ("data.urgency", "eq", "LO", False),
    ("data.line_num", "eq", 45, True),
    ("data.line_num", "eq", 45.0, True),
    ("data.line_num", "eq", "45", False),          # type mismatch
    ("data.fixed", "eq", True, True),
    ("data.fixed", "eq", 1, False),                # a boolean is not a number
    ("data.note", "eq", None, True),
    ("data.urgency", "eq", None, False),
    ("data.project.id", "eq", "proj-1", True),
    ("event_type", "eq", "issue.status_changed", True),
    ("data.missing", "eq", "HI", False),
    ("data.urgency", "ne", "LO", True),
    ("data.urgency", "ne", "HI", False),
    ("data.line_num", "ne", "45", False),          # type mismatch
    ("data.urgency", "ne", None, True),
    ("data.note", "ne", None, False),
    ("data.missing", "ne", "HI", False),
    ("data.urgency", "in", ["HI", "CR"], True),
    ("data.urgency", "in", ["ME", "LO"], False),
    ("data.line_num", "in", [44, 45], True),
    ("data.line_num", "in", ["45"], False),        # type mismatch
    ("data.note", "in", [None, "x"], True),
    ("data.missing", "in", ["HI"], False),
    ("data.urgency", "nin", ["ME", "LO"], True),
    ("data.urgency", "nin", ["HI", "CR"], False),
    ("data.line_num", "nin", ["45"], False),       # type mismatch
    ("data.missing", "nin", ["HI"], False),
    ("data.urgency", "exists", True, True),
    ("data.note", "exists", True, True),
    ("data.missing", "exists", True, False),
    ("data.missing", "exists", False, True),
    ("data.urgency", "exists", False, False),
    ("data.urgency.deeper", "exists", True, False),
    ("data.line_num", "gt", 44, True),
    ("data.line_num", "gt", 45, False),
    ("data.line_num", "gte", 45, True),
    ("data.score", "gte", 7.6, False),
    ("data.line_num", "lt", 46, True),
    ("data.line_num", "lt", 45, False),
    ("data.line_num", "lte", 45, True),
    ("data.score", "lte", 7, False),
    ("data.line_num", "gt", "44", False),          # type mismatch
    ("data.fixed", "gt", 0, False),                # a boolean is not a number
    ("timestamp", "gte", "2025-01-15T00:00:00Z", True),
    ("timestamp", "lt", "2025-01-15T00:00:00Z", False),
    ("data.missing", "gt", 1, False),
    ("data.classification", "contains", "SQL", True),
    ("data.classification", "contains", "XSS", False),
    ("data.issue_ids", "contains", "i-2", True),
    ("data.issue_ids", "contains", 3, True),
    ("data.issue_ids", "contains", "3", False),    # type mismatch inside the list
    ("data.line_num", "contains", 4, False),       # not a text or a list
    ("data.classification", "contains", 5, False),
    ("data.project", "contains", "id", False),
    ("data.missing", "contains", "x", False),
])
def test_each_op(path, op, value, expected):
    assert holds(path, op, value) is expected


def test_all_conditions_must_hold():
    conditions = pf.clean([{"path": "data.urgency", "op": "in", "value": ["HI", "CR"]},
                           {"path": "data.line_num", "op": "gte", "value": 50}])
    assert pf.first_failing(conditions, PAYLOAD) == 1
    assert pf.first_failing(conditions[:1], PAYLOAD) is None
    assert pf.first_failing([], PAYLOAD) is None


def test_clean_normalizes_and_defaults_exists_to_true():
    assert pf.clean(None) == []
    assert pf.clean([{"path": " data.x ", "op": "exists"}]) == [
        {"path": "data.x", "op": "exists", "value": True}]


@pytest.mark.parametrize(("condition", "message"), [
    ({"path": "data.urgency", "op": "like", "value": "H"},
     "Condition 1: unknown op 'like': use one of eq, ne, in, nin, exists"),
    ({"path": "urgency", "op": "eq", "value": "HI"},
     "Condition 1: path 'urgency' must start with data, event_type, event_id, timestamp"),
    ({"path": "data..urgency", "op": "eq", "value": "HI"}, "has an empty part"),
    ({"path": "", "op": "eq", "value": "HI"}, "path is required"),
    ({"path": 5, "op": "eq", "value": "HI"}, "path is required"),
    ({"path": "event_type.x", "op": "eq", "value": "HI"}, "event_type has no fields inside"),
    ({"path": "data." + ".".join("k" * 10), "op": "exists"}, "more than 10 keys deep"),
    ({"path": "data." + "k" * 200, "op": "exists"}, "at most 200 characters"),
    ({"path": "data.urgency", "op": "in", "value": "HI"}, "in takes a list of 1 to 100"),
    ({"path": "data.urgency", "op": "nin", "value": []}, "nin takes a list"),
    ({"path": "data.urgency", "op": "in", "value": [["HI"]]}, "in takes a list"),
    ({"path": "data.n", "op": "gt", "value": True}, "gt takes a number or a string"),
    ({"path": "data.n", "op": "lte", "value": None}, "lte takes a number or a string"),
    ({"path": "data.n", "op": "eq", "value": {"a": 1}}, "eq takes a string, number"),
    ({"path": "data.n", "op": "eq", "value": float("inf")}, "eq takes a string, number"),
    ({"path": "data.n", "op": "eq", "value": "x" * 501}, "eq takes a string, number"),
    ({"path": "data.n", "op": "exists", "value": "yes"}, "exists takes true or false"),
    ({"path": "data.n", "op": "contains", "value": None}, "contains takes a string"),
    ({"path": "data.n", "op": "eq"}, "eq needs a value"),
    ({"path": "data.n", "op": "eq", "value": 1, "when": "now"}, "unknown key 'when'"),
    ("data.n eq 1", 'must be an object {"path", "op", "value"}'),
])
def test_bad_conditions_are_refused_with_a_clear_message(condition, message):
    with pytest.raises(pf.FilterInvalid) as raised:
        pf.clean([{"path": "data.ok", "op": "exists"}, condition])
    assert message.replace("Condition 1", "Condition 2") in str(raised.value)
    assert list(raised.value.rows) == [1]


def test_too_many_conditions_or_not_a_list_is_refused():
    with pytest.raises(pf.FilterInvalid, match="at most 20 conditions"):
        pf.clean([{"path": "data.x", "op": "exists"}] * 21)
    with pytest.raises(pf.FilterInvalid, match="must be a list"):
        pf.clean({"path": "data.x", "op": "exists"})


@pytest.mark.parametrize(("op", "text", "value"), [
    ("eq", "HI", "HI"),
    ("eq", "45", 45),
    ("eq", '"45"', "45"),
    ("eq", "true", True),
    ("eq", "null", None),
    ("in", '["HI", "CR"]', ["HI", "CR"]),
    ("in", "HI, CR", ["HI", "CR"]),
    ("in", "HI", ["HI"]),
    ("nin", "1, 2, x", [1, 2, "x"]),
    ("exists", "", True),
    ("exists", "false", False),
])
def test_form_text_becomes_a_value_and_back(op, text, value):
    assert pf.value_from_text(op, text) == value
    assert pf.value_from_text(op, pf.value_as_text(value)) == value


def test_describe_reads_as_a_condition():
    assert pf.describe({"path": "data.urgency", "op": "in", "value": ["HI", "CR"]}) == (
        'data.urgency in ["HI", "CR"]')
