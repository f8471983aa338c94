"""Checking an event's data against its catalog JSON Schema, with the failing field named."""
import functools

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .. import catalog

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


class DataInvalid(ValueError):
    """The data does not match its schema; `path` names the field (`data.project.id`)."""

    def __init__(self, path, message):
        super().__init__(message)
        self.path = path


@functools.cache
def validator(event_type):
    """The compiled validator of one catalog type, built once per process."""
    return Draft202012Validator(catalog.EVENT_TYPES[event_type].schema)


def _path(parts):
    text = "data"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _explain(error):
    """(path, message) of a validation error, in the words the API and CLI show."""
    path = _path(error.absolute_path)
    if error.validator == "required":
        missing = next(key for key in error.validator_value if key not in error.instance)
        path = _path([*error.absolute_path, missing])
        return path, f"{path} is required"
    if error.validator == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else expected
        return path, f"{path} must be {' or '.join(_TYPE_NAMES.get(n, n) for n in names)}"
    return path, f"{path}: {error.message}"


def check(event_type, data):
    """Raise DataInvalid, naming the most relevant failing field, unless `data` matches the
    schema of `event_type` (a catalog type)."""
    error = best_match(validator(event_type).iter_errors(data))
    if error is not None:
        raise DataInvalid(*_explain(error))
