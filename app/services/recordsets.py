"""A group of rows as one JSON parameter, for PostgreSQL's json_to_recordset: one statement
(parsed and planned once, one round trip) writes the whole group, however many rows."""
import json
from datetime import date, datetime

from ..extensions import db


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{value.__class__.__name__} is not a recordset value")


def as_json(rows):
    """`rows` (dicts of str, int, bool, None, datetimes and JSON-able values) as JSON text;
    datetimes keep their zone (ISO 8601), which timestamptz reads."""
    return json.dumps(rows, default=_plain, separators=(",", ":"))


def on_postgresql():
    """Whether the session's database is PostgreSQL (where recordsets are used)."""
    return db.session.get_bind().dialect.name == "postgresql"
