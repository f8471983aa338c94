"""CSV export of delivery history: streamed in chunks of about 64 KB, formatted by the database."""
import csv
import io

from sqlalchemy import String, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

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
# The buffer is handed to the response once it holds this much text.
CHUNK_SIZE = 64 * 1024
# The export's transaction on PostgreSQL. Compiling the long scan with JIT costs more than
# it saves. With the default random_page_cost (4, priced for spinning disks) the planner
# chose, at 10,000,000 deliveries, to read the whole table and sort the rows on disk rather
# than walk the index that holds them in order: 413,000 pages and 240 MB of temporary files
# before the first row, against 70,000 pages from the first row on.
POSTGRESQL_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL random_page_cost = 1.1")
# Rows fetched at a time where the database cannot write the CSV itself (SQLite).
FETCH_SIZE = 2000


class iso_utc(FunctionElement):  # noqa: N801 - named like the SQL functions it stands for
    """A UTC timestamp column as the text `datetime.isoformat()` gives for it
    (2025-01-15T14:30:00.250000+00:00, without the fraction when it is zero), made by the
    database so that no datetime object is built per row."""

    type = String()
    inherit_cache = True


@compiles(iso_utc, "postgresql")
def _iso_utc_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return (f"to_char({column} AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', {column}) "
            f"= {column} THEN 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"' "
            f"ELSE 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"' END)")


@compiles(iso_utc, "sqlite")
def _iso_utc_sqlite(element, compiler, **kw):
    # SQLite holds naive UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'.
    column = compiler.process(element.clauses, **kw)
    return (f"replace(CASE WHEN substr({column}, 20) = '.000000' THEN substr({column}, 1, 19) "
            f"ELSE {column} END, ' ', 'T') || '+00:00'")


def _cell(column):
    """A text column as its CSV cell: prefixed with a single quote when a spreadsheet would
    run it as a formula."""
    return case(
        (func.substr(column, 1, 1).in_(sorted(FORMULA_STARTS)), literal("'") + column),
        else_=column,
    )


def filename(today=None):
    """The dated download name, e.g. hookline-deliveries-20250115.csv."""
    return f"hookline-deliveries-{(today or utcnow().date()):%Y%m%d}.csv"


def export_statement(org_id, filters):
    """The export query, newest first, one column per HEADER name: every cell comes back as
    the text or number the CSV holds (timestamps formatted, formula-like text neutralized),
    so rows need no work per row on their way out."""
    columns = (
        Delivery.id,
        iso_utc(Delivery.created_at),
        _cell(Endpoint.name),
        _cell(Endpoint.url),
        _cell(Delivery.event_type),
        Delivery.event_id,
        Delivery.status,
        Delivery.attempt_count,
        Delivery.last_status_code,
        _cell(Delivery.last_error),
        iso_utc(Delivery.delivered_at),
    )
    statement = select(*(column.label(name) for name, column in zip(HEADER, columns, strict=True)))
    statement = statement.join(Endpoint, Endpoint.id == Delivery.endpoint_id)
    return filtered(org_id, filters, statement).order_by(
        Delivery.created_at.desc(), Delivery.id.desc()
    )


def csv_chunks(org_id, filters):
    """Yield the CSV text in chunks of about CHUNK_SIZE characters: a header row, then one
    row per delivery. Memory stays flat at any size."""
    # Taken when the response starts streaming, not when the route returns: the request's
    # own transaction has ended by then.
    connection = db.session.connection()
    statement = export_statement(org_id, filters)
    if connection.dialect.name == "postgresql":
        yield from _copied_chunks(connection, statement)
    else:
        yield from _written_chunks(connection, statement)


def _copied_chunks(connection, statement):
    """PostgreSQL writes the CSV itself (COPY … TO STDOUT), row after row as the index scan
    finds them, while this process only passes the text on: about twice the rows per second
    of fetching rows from a server-side cursor into a csv.writer."""
    for setting in POSTGRESQL_SETTINGS:
        connection.exec_driver_sql(setting)
    compiled = statement.compile(dialect=connection.dialect,
                                 compile_kwargs={"render_postcompile": True})
    sql = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, HEADER)"
    pending, size = [], 0
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(
        sql, compiled.params
    ) as copy:
        # Each block is one whole row, so a chunk never splits a character.
        for block in copy:
            pending.append(block)
            size += len(block)
            if size >= CHUNK_SIZE:
                yield b"".join(pending).decode()
                pending, size = [], 0
    yield b"".join(pending).decode()


def _written_chunks(connection, statement):
    """Rows FETCH_SIZE at a time into a csv.writer over one reused buffer (its lines end in
    CRLF, PostgreSQL's in LF; CSV readers take either)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    result = connection.execute(statement.execution_options(yield_per=FETCH_SIZE))
    try:
        for rows in result.partitions():
            writer.writerows(rows)
            if buffer.tell() >= CHUNK_SIZE:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    finally:
        result.close()


def begin(org_id, actor, filters):
    """Audit an export of the filtered history; returns (file name, CSV chunks to stream)."""
    audit.record(org_id, actor, "delivery.export", "delivery", None,
                 {"filters": filters.as_dict()})
    return filename(), csv_chunks(org_id, filters)
