"""Payload filters: conditions on the default payload that an event must meet to be delivered."""
import json
import math
import operator

OPS = ("eq", "ne", "in", "nin", "exists", "gt", "gte", "lt", "lte", "contains")
ROOTS = ("data", "event_type", "event_id", "timestamp")
MAX_CONDITIONS = 20
MAX_PATH = 200
MAX_DEPTH = 10
MAX_LIST = 100
MAX_TEXT = 500
_ORDER = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
_MISSING = object()


class FilterInvalid(ValueError):
    """The filter cannot be saved; `rows` maps a condition's index to its message."""

    def __init__(self, message, rows=None):
        super().__init__(message)
        self.rows = rows or {}


def kind(value):
    """The JSON type of a value: string, number, boolean, null, array or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# Validation --------------------------------------------------------------------------------

def _path(value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError("path is required, e.g. data.urgency")
    path = value.strip()
    if len(path) > MAX_PATH:
        raise ValueError(f"path must be at most {MAX_PATH} characters")
    parts = path.split(".")
    if any(not part.strip() for part in parts):
        raise ValueError(f"path {path!r} has an empty part: write keys joined by dots, "
                         "e.g. data.project.id")
    if parts[0] not in ROOTS:
        raise ValueError(f"path {path!r} must start with {', '.join(ROOTS)} "
                         "(e.g. data.urgency)")
    if parts[0] != "data" and len(parts) > 1:
        raise ValueError(f"path {path!r}: {parts[0]} has no fields inside")
    if len(parts) > MAX_DEPTH:
        raise ValueError(f"path {path!r} is more than {MAX_DEPTH} keys deep")
    return path


def _scalar(value, allow_null=True):
    """A string, number, boolean (or null) a condition may compare with."""
    if value is None:
        return allow_null
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if isinstance(value, str):
        return len(value) <= MAX_TEXT
    return isinstance(value, bool | int | float)


def _value(op, value):
    if op == "exists":
        if not isinstance(value, bool):
            raise ValueError("exists takes true or false")
        return value
    if op in ("in", "nin"):
        if (not isinstance(value, list) or not value or len(value) > MAX_LIST
                or not all(_scalar(item) for item in value)):
            raise ValueError(f"{op} takes a list of 1 to {MAX_LIST} strings, numbers, "
                             'booleans or nulls, e.g. ["HI", "CR"]')
        return value
    if op in _ORDER:
        if isinstance(value, bool) or not _scalar(value, allow_null=False):
            raise ValueError(f"{op} takes a number or a string (strings compare "
                             "alphabetically, so ISO timestamps compare by time)")
        return value
    if op == "contains":
        if not _scalar(value, allow_null=False):
            raise ValueError("contains takes a string (found in a text) or a string, number "
                             "or boolean (found in a list)")
        return value
    if not _scalar(value):
        raise ValueError(f"{op} takes a string, number, boolean or null")
    return value


def _condition(item):
    if not isinstance(item, dict):
        raise ValueError('must be an object {"path", "op", "value"}')
    unknown = sorted(set(item) - {"path", "op", "value"})
    if unknown:
        raise ValueError(f"unknown key {', '.join(map(repr, unknown))}: a condition has "
                         "path, op and value")
    path = _path(item.get("path"))
    op = item.get("op")
    if op not in OPS:
        raise ValueError(f"unknown op {op!r}: use one of {', '.join(OPS)}")
    if "value" not in item and op != "exists":
        raise ValueError(f"{op} needs a value")
    return {"path": path, "op": op, "value": _value(op, item.get("value", True))}


def clean(conditions):
    """Check a filter (a list of conditions; None is none) and return it normalized.

    Raises FilterInvalid naming each condition at fault (1-based in the message).
    """
    if conditions is None:
        return []
    if not isinstance(conditions, list):
        raise FilterInvalid('Payload filter must be a list of {"path", "op", "value"} '
                            "conditions")
    if len(conditions) > MAX_CONDITIONS:
        raise FilterInvalid(f"Payload filter may have at most {MAX_CONDITIONS} conditions")
    result, rows = [], {}
    for index, item in enumerate(conditions):
        try:
            result.append(_condition(item))
        except ValueError as exc:
            rows[index] = f"Condition {index + 1}: {exc}"
    if rows:
        raise FilterInvalid("; ".join(rows.values()), rows)
    return result


# Evaluation --------------------------------------------------------------------------------

def lookup(payload, path):
    """The value at a dotted path of the payload, or _MISSING."""
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _equal(a, b):
    return kind(a) == kind(b) and a == b


def holds(condition, payload):
    """Whether one condition holds for a payload. A missing field, or one whose type does not
    fit the condition's value, makes every op but exists not hold."""
    op, expected = condition["op"], condition["value"]
    found = lookup(payload, condition["path"])
    if op == "exists":
        return (found is not _MISSING) == expected
    if found is _MISSING:
        return False
    if op in ("eq", "ne"):
        if expected is not None and kind(found) != kind(expected):
            return False
        return _equal(found, expected) == (op == "eq")
    if op in ("in", "nin"):
        if kind(found) not in {kind(item) for item in expected}:
            return False
        return any(_equal(found, item) for item in expected) == (op == "in")
    if op in _ORDER:
        return kind(found) == kind(expected) and _ORDER[op](found, expected)
    if isinstance(found, str):
        return isinstance(expected, str) and expected in found
    if isinstance(found, list):
        return any(_equal(item, expected) for item in found)
    return False


def first_failing(conditions, payload):
    """The index of the first condition that does not hold, or None when all hold."""
    for index, condition in enumerate(conditions or ()):
        if not holds(condition, payload):
            return index
    return None


def describe(condition):
    """A condition as one line of text: data.urgency in ["HI", "CR"]."""
    return f"{condition['path']} {condition['op']} {json.dumps(condition['value'])}"


# The form's text boxes ----------------------------------------------------------------------

def value_from_text(op, text):
    """A value typed in the form: JSON when it parses (5, true, "5", ["HI", "CR"]), else the
    text itself; for in and nin, a list (text without brackets is split on commas)."""
    text = (text or "").strip()
    if op == "exists" and text == "":
        return True
    try:
        value = json.loads(text)
    except ValueError:
        if op in ("in", "nin"):
            return [value_from_text("eq", part) for part in text.split(",") if part.strip()]
        return text
    if op in ("in", "nin") and not isinstance(value, list):
        return [value]
    return value


def value_as_text(value):
    """The form's text for a saved value: plain text when that reads back the same."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False)
