"""CSV export of delivery history: streamed row by row from a server-side cursor."""
import csv
import io
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import Delivery, Endpoint, utcnow
from . import audit
from .history import filtered

HEADER = (
    "id",
    "created_at",
    "endpoint_name",
    "endpoint_url",
    "event_type",
    "event_id",
    "status",
    "attempts",
    "last_http_status",
    "last_error",
    "delivered_at",
)
# Spreadsheets treat cells starting with these as formulas.
FORMULA_STARTS = frozenset("=+-@\t\r")
ROWS_PER_CHUNK = 500
FETCH_SIZE = 5000


def neutralize(value):
    """The cell text, prefixed with a single quote if a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text if text and text[0] in FORMULA_STARTS else text


def filename(today=None):
    """The dated download name, e.g. hookline-deliveries-20250115.csv."""
    return f"hookline-deliveries-{(today or utcnow().date()):%Y%m%d}.csv"


def export_statement(org_id, filters):
    """The export query: plain columns (no ORM objects), newest first."""
    columns = select(
        Delivery.id,
        Delivery.created_at,
        Endpoint.name,
        Endpoint.url,
        Delivery.event_type,
        Delivery.event_id,
        Delivery.status,
        Delivery.attempt_count,
        Delivery.last_status_code,
        Delivery.last_error,
        Delivery.delivered_at,
    ).join(Endpoint, Endpoint.id == Delivery.endpoint_id)
    return filtered(org_id, filters, columns).order_by(
        Delivery.created_at.desc(), Delivery.id.desc()
    )


def csv_chunks(org_id, filters):
    """Yield the CSV text in small chunks: a header row, then one row per delivery. Rows come
    from a server-side cursor and one reused buffer, so memory stays flat at any size."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    # Core rows on a server-side cursor: no ORM bookkeeping per row, FETCH_SIZE rows in memory.
    statement = export_statement(org_id, filters).execution_options(
        stream_results=True, max_row_buffer=FETCH_SIZE
    )
    result = db.session.connection().execute(statement)
    try:
        pending = 0
        for row in result:
            writer.writerow(map(neutralize, row))
            pending += 1
            if pending >= ROWS_PER_CHUNK:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                pending = 0
        yield buffer.getvalue()
    finally:
        result.close()


def begin(org_id, actor, filters):
    """Audit an export of the filtered history; returns (file name, CSV chunks to stream)."""
    audit.record(org_id, actor, "delivery.export", "delivery", None,
                 {"filters": filters.as_dict()})
    return filename(), csv_chunks(org_id, filters)
